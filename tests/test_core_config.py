"""SASRecConfig validation and (de)serialisation."""
from core.config import SASRecConfig


def test_notebook_defaults():
    c = SASRecConfig()
    assert (c.n_factors, c.n_blocks, c.n_heads, c.dropout_rate, c.session_maxlen, c.lr, c.batch_size, c.epochs, c.loss, c.seed) == (
        128, 2, 1, 0.2, 32, 1e-3, 128, 5, "softmax", 32)
    assert c.use_pos_emb and c.errors() == {}


def test_each_field_gets_its_own_message():
    errs = SASRecConfig(n_factors=0, n_blocks=-1, batch_size=2.5, session_maxlen=0, n_negatives=0, gbce_t=2, seed=-1).errors()
    assert set(errs) == {"n_factors", "n_blocks", "batch_size", "session_maxlen", "n_negatives", "gbce_t", "seed"}
    assert SASRecConfig(device="cuda:1").errors() == {}
    assert "device" in SASRecConfig(device="cuda:x").errors()


def test_from_dict_ignores_unknown_keys():
    c = SASRecConfig.from_dict({**SASRecConfig(epochs=3).to_dict(), "future_option": 1})
    assert c.epochs == 3
