"""Categorical item features in the item tower (issue 14, point 1): the vocabulary and its
rules, the errors, the model's feature-aware item vectors (RecTools' IdEmbeddingsItemNet +
CatFeaturesItemNet), the ids-only model unchanged bit for bit, checkpoints, the CLI, and a
rare item that gets a meaningful vector from its genres."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import SASRecConfig
from core.errors import CheckpointError, ConfigError
from core.evaluate_model import item_vectors
from core.experiment import Experiment, Holdout
from core.explain import attention_contributions, embedding_map
from core.filters import FilterConfig
from core.item_features import (
    MAX_EXACT_NUMERIC_VALUES, N_QUANTILE_BUCKETS, ItemFeatures, build_item_features, check_feature_columns,
    parse_feature_columns,
)
from core.model import SASRec
from core.recommend import Recommender
from core.sequences import ItemIdMap, UserHistories
from core.train import architecture_changes, fit
from tests.cli_runner import TINY_TRAIN as TINY
from tests.cli_runner import run_cli
from tests.synthetic import chain_interactions

SMALL = dict(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.1)
REFERENCE = Path(__file__).parent / "fixtures" / "ids_only_reference.npz"


def _map(ids: list) -> ItemIdMap:
    return ItemIdMap.from_ids(np.asarray(ids, dtype=object if isinstance(ids[0], str) else np.int64))


def _chain_items(n_items: int = 40) -> pd.DataFrame:
    """An items table for ``chain_interactions`` (item ids 100, 200, ...): two genres, a
    year, a for-kids flag; every fifth item has no genres."""
    ids = np.arange(1, n_items + 1) * 100
    genres = ["drama, comedy" if i % 2 else "Horror" for i in range(n_items)]
    for i in range(0, n_items, 5):
        genres[i] = None
    return pd.DataFrame({
        "item_id": ids.astype(np.int64), "genres": genres,
        "release_year": [1985.0 + (i % 30) for i in range(n_items)], "for_kids": [i % 3 == 0 for i in range(n_items)],
    })


# --------------------------------------------------------------------------- vocabulary


def test_multi_valued_cells_are_split_stripped_and_lower_cased():
    items = pd.DataFrame({"item_id": [1, 2, 3, 4], "genres": ["Drama, comedy", " drama ,", "", None]})
    f = build_item_features(items, "genres", _map([1, 2, 3, 4]))
    assert f.names() == ["genres=comedy", "genres=drama"]
    assert f.features_of(1) == [("genres", "comedy"), ("genres", "drama")]
    assert f.features_of(2) == [("genres", "drama")]
    assert f.features_of(3) == [] and f.features_of(4) == []  # empty and missing cells: no feature
    assert f.features_of(0) == []  # PAD
    assert f.offsets.tolist() == [0, 0, 2, 3, 3, 3] and f.indices.tolist() == [0, 1, 1]


def test_numeric_columns_years_by_decade_few_values_exact_others_in_quantile_buckets():
    n = 60
    items = pd.DataFrame({
        "item_id": np.arange(1, n + 1),
        "release_year": [1968.0 + i for i in range(n - 1)] + [np.nan],
        "age_rating": pd.array([0, 6, 12, 16, 18, None] * (n // 6), dtype="Int64"),
        "duration": np.linspace(10.0, 200.0, n),
        "score": [0.5] * n,
    })
    f = build_item_features(items, ["release_year", "age_rating", "duration", "score"], _map(list(range(1, n + 1))))
    by_column = {c: [v for vc, v in zip(f.value_columns, f.values) if vc == c] for c in f.columns}
    assert by_column["release_year"] == ["1960s", "1970s", "1980s", "1990s", "2000s", "2010s", "2020s"]
    assert by_column["age_rating"] == ["0", "6", "12", "16", "18"]  # numeric order, written as whole numbers
    assert len(by_column["duration"]) == N_QUANTILE_BUCKETS and n > MAX_EXACT_NUMERIC_VALUES
    assert by_column["duration"][0].startswith("10 to ") and by_column["duration"][-1].endswith(" to 200")
    assert by_column["score"] == ["0.5"]
    assert f.features_of(1) == [("release_year", "1960s"), ("age_rating", "0"), ("duration", by_column["duration"][0]),
                                ("score", "0.5")]
    assert ("release_year", "2020s") in f.features_of(55)
    assert not [c for c, _ in f.features_of(n) if c == "release_year"]  # NaN year: none
    assert not [c for c, _ in f.features_of(6) if c == "age_rating"]  # <NA> rating: none
    durations = [v for i in range(1, n + 1) for c, v in f.features_of(i) if c == "duration"]
    assert len(durations) == n and all(durations.count(b) >= n // N_QUANTILE_BUCKETS - 1 for b in by_column["duration"])


def test_text_ids_bool_columns_and_items_outside_the_catalog():
    items = pd.DataFrame({"item_id": pd.array(["a7", "007", "zz"], dtype="str"), "kids": [True, False, True],
                          "countries": ["UK", "USA, UK", "Mars"]})
    item_map = _map(["007", "a7", "b"])  # "zz" is not in the catalog, "b" has no row
    f = build_item_features(items, "countries, kids", item_map)
    assert f.columns == ["countries", "kids"]
    assert f.names() == ["countries=uk", "countries=usa", "kids=false", "kids=true"]  # no "mars": not in the catalog
    assert f.features_of(1) == [("countries", "uk"), ("countries", "usa"), ("kids", "false")]
    assert f.features_of(2) == [("countries", "uk"), ("kids", "true")]
    assert f.features_of(3) == [] and f.n_items == 3


def test_no_columns_means_no_features():
    assert build_item_features(None, "", _map([1, 2])) is None
    assert parse_feature_columns("  ") == [] and parse_feature_columns(" genres , countries") == ["genres", "countries"]


# --------------------------------------------------------------------------- errors


def test_errors_name_the_setting_and_the_available_columns():
    items = pd.DataFrame({"item_id": [1, 2], "genres": ["a", "b"], "title": ["x", "y"], "empty": [None, None]})
    with pytest.raises(ConfigError) as exc:
        check_feature_columns(items, "genres,colour")
    assert list(exc.value.errors) == ["item_features"]
    assert "no column 'colour'" in str(exc.value) and "available: genres, title, empty" in str(exc.value)
    with pytest.raises(ConfigError, match="has no items table"):
        check_feature_columns(None, "genres")
    with pytest.raises(ConfigError, match="item_id is the item's id"):
        check_feature_columns(items, "item_id")
    with pytest.raises(ConfigError, match="column 'empty' has no value for any of the 2 items"):
        build_item_features(items, "genres,empty", _map([1, 2]))
    assert check_feature_columns(None, "") == []


@pytest.mark.parametrize(("text", "message"), [("genres,,countries", "an empty column name"), ("genres, genres", "twice")])
def test_a_malformed_setting_is_a_config_error(text, message):
    errors = SASRecConfig(item_features=text).errors()
    assert list(errors) == ["item_features"] and message in errors["item_features"]


def test_fit_refuses_features_without_an_items_table_or_with_a_missing_column():
    with pytest.raises(ConfigError, match="has no items table"):
        fit(chain_interactions(), SASRecConfig(epochs=1, item_features="genres", **SMALL))
    with pytest.raises(ConfigError, match="available: genres, release_year, for_kids"):
        fit(chain_interactions(), SASRecConfig(epochs=1, item_features="genre", **SMALL), items=_chain_items())


def test_a_continued_run_keeps_its_item_features():
    changed = architecture_changes(SASRecConfig(item_features="genres"), SASRecConfig(item_features="genres,for_kids"))
    assert list(changed) == ["item_features"]


def test_inconsistent_stored_features_are_refused():
    f = build_item_features(_chain_items(), "genres", _map(list(np.arange(1, 41) * 100)))
    bad = f.to_payload()
    bad["indices"] = bad["indices"] + 100
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ItemFeatures.from_payload(bad)
    with pytest.raises(ValueError, match="lack 'offsets'"):
        ItemFeatures.from_payload({k: v for k, v in f.to_payload().items() if k != "offsets"})
    with pytest.raises(ValueError, match="cover 40 items, the model has 39"):
        SASRec(39, SASRecConfig(**SMALL), f)


# --------------------------------------------------------------------------- model


@pytest.fixture(scope="module")
def feature_model():
    config = SASRecConfig(epochs=2, lr=5e-3, item_features="genres,release_year,for_kids", **SMALL)
    return fit(chain_interactions(), config, items=_chain_items()).model


def test_shapes_and_state_dict_keys(feature_model):
    module, f = feature_model.module, feature_model.module.item_features
    n, d = feature_model.item_map.n_items, SMALL["n_factors"]
    assert module.item_embeddings().shape == (n + 1, d)
    assert module.feature_emb.weight.shape == (f.n_values, d)
    assert f.columns == ["genres", "release_year", "for_kids"]
    keys = set(module.state_dict())
    assert {"item_emb.weight", "feature_emb.weight"} <= keys
    assert not {k for k in keys if "feature_indices" in k or "feature_offsets" in k}  # rebuilt from the vocabulary
    plain = SASRec(n, SASRecConfig(**SMALL))
    assert set(plain.state_dict()) == keys - {"feature_emb.weight"}
    assert list(dict(plain.named_parameters()))[0] == "item_emb.weight"


def test_item_vectors_are_id_plus_feature_embeddings(feature_model):
    module, f = feature_model.module, feature_model.module.item_features
    with torch.no_grad():
        table = module.item_embeddings()
        extra = table - module.item_emb.weight
        bag = module.feature_emb.weight
    assert torch.equal(table[0], module.item_emb.weight[0])  # PAD: no feature
    for i in range(1, feature_model.item_map.n_items + 1):
        start, end = int(f.offsets[i]), int(f.offsets[i + 1])
        expected = bag[f.indices[start:end]].sum(0) if end > start else torch.zeros(bag.shape[1])
        assert torch.allclose(extra[i], expected, atol=1e-6), i
    assert (extra[1:].abs().sum(1) > 0).all()  # every item has a year, so every vector moved
    # feature-aware vectors are what i2i, evaluation and the item map use
    ids, vectors = item_vectors(feature_model)
    assert np.array_equal(vectors, table[1:].numpy())
    rec = Recommender(feature_model, UserHistories.from_interactions(chain_interactions()))
    assert torch.equal(rec._emb, table)
    assert len(embedding_map(rec)) == len(ids)
    assert not attention_contributions(rec, 10).empty


def test_features_change_the_vectors_and_the_training():
    plain = fit(chain_interactions(), SASRecConfig(epochs=1, deterministic=True, **SMALL)).model
    feats = fit(chain_interactions(), SASRecConfig(epochs=1, deterministic=True, item_features="genres", **SMALL),
                items=_chain_items()).model
    assert plain.history.step_losses != feats.history.step_losses
    with torch.no_grad():
        assert not torch.allclose(plain.module.item_embeddings(), feats.module.item_embeddings())


def test_feature_init_scale_scales_only_the_initial_feature_embeddings():
    features = build_item_features(_chain_items(), "genres,for_kids", _map(list(np.arange(1, 41) * 100)))
    models = {}
    for scale in (1.0, 0.1, 0.0):
        torch.manual_seed(7)
        model = SASRec(40, SASRecConfig(feature_init_scale=scale, **SMALL), features)
        model.xavier_init()
        models[scale] = model
    full, tenth, zero = (models[s].state_dict() for s in (1.0, 0.1, 0.0))
    assert torch.allclose(tenth["feature_emb.weight"], full["feature_emb.weight"] * 0.1)
    assert not zero["feature_emb.weight"].any()
    for key, value in full.items():  # everything else is drawn exactly as before
        if key != "feature_emb.weight":
            assert torch.equal(tenth[key], value), key
    assert SASRecConfig(feature_init_scale=-1.0).errors().keys() == {"feature_init_scale"}


def test_one_training_step_shares_the_table_and_leaves_pad_alone():
    items = _chain_items()
    seq_ids = np.arange(1, 41) * 100
    item_map = _map(list(seq_ids))
    f = build_item_features(items, "genres", item_map)
    model = SASRec(40, SASRecConfig(**SMALL), f)
    model.xavier_init()
    model.train()
    x = torch.tensor([[0, 0, 1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 7, 8, 9, 10]])
    positions = torch.nonzero(x.reshape(-1) != 0).squeeze(1)
    h = model.hidden_at(x, positions)
    table = model._step_table
    out = model.output_embeddings()
    assert out is table and model._step_table is None  # inputs and logits saw one dropout mask
    assert model.output_embeddings() is not table  # a second call draws its own table
    (h @ out.T).logsumexp(-1).sum().backward()
    assert model.feature_emb.weight.grad is not None and model.feature_emb.weight.grad.abs().sum() > 0
    assert torch.equal(model.item_emb.weight.grad[0], torch.zeros(SMALL["n_factors"]))  # PAD gets no gradient
    model.eval()
    assert model._step_table is None
    with torch.no_grad():
        assert torch.equal(model.output_embeddings(), model.item_embeddings())  # no dropout in eval


def test_the_graph_capturable_step_trains_features_like_the_eager_step(monkeypatch):
    """``core.static_step`` (CUDA's step, run eagerly here) looks the inputs up with ``forward``
    and takes the logits' table from ``output_embeddings``: same losses as the eager step."""
    import core.train as train_module

    config = SASRecConfig(epochs=2, lr=5e-3, item_features="genres,for_kids", **{**SMALL, "dropout_rate": 0.0})
    eager = fit(chain_interactions(), config, items=_chain_items()).model
    monkeypatch.setattr(train_module, "uses_static_step", lambda *args: True)
    static = fit(chain_interactions(), config, items=_chain_items()).model
    np.testing.assert_allclose(static.history.step_losses, eager.history.step_losses, rtol=1e-5)
    torch.testing.assert_close(static.module.feature_emb.weight, eager.module.feature_emb.weight, rtol=1e-4, atol=1e-6)


def ids_only_run() -> dict[str, np.ndarray]:
    """The run the committed reference was written with (by this code, at commit 59a7235,
    before item features existed): two losses, two epochs, deterministic, one thread."""
    config = dict(n_factors=16, n_blocks=2, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.1,
                  deterministic=True, seed=5)
    out = {}
    for loss in ("softmax", "bce"):
        cfg = SASRecConfig(epochs=2, loss=loss, n_negatives=3, **config)
        model = fit(chain_interactions(n_users=120, n_items=30), cfg).model
        out[f"{loss}/losses"] = np.asarray(model.history.step_losses, dtype=np.float64)
        for k, v in model.module.state_dict().items():
            out[f"{loss}/w/{k}"] = v.detach().numpy().copy()
    return out


def test_without_features_training_is_bit_for_bit_the_ids_only_model():
    with np.load(REFERENCE, allow_pickle=False) as data:
        reference = {k: data[k] for k in data.files}
    meta = json.loads(str(reference.pop("meta")))
    threads = torch.get_num_threads()
    torch.set_num_threads(meta["threads"])
    try:
        ours = ids_only_run()
    finally:
        torch.set_num_threads(threads)
    assert set(ours) == set(reference)
    same_build = meta["torch"] == torch.__version__ and meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    for key, expected in reference.items():
        if same_build:  # the machine kind the reference was written on: exactly equal
            assert np.array_equal(ours[key], expected), key
        else:  # other kernels may sum in another order
            assert np.allclose(ours[key], expected, rtol=1e-4, atol=1e-6), key


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_with_features(feature_model, tmp_path):
    path = save_checkpoint(feature_model, tmp_path / "m.pt")
    loaded, _ = load_checkpoint(path)
    f, g = feature_model.module.item_features, loaded.module.item_features
    assert g.names() == f.names() and g.columns == f.columns
    assert torch.equal(g.offsets, f.offsets) and torch.equal(g.indices, f.indices)
    with torch.no_grad():
        assert torch.equal(loaded.module.item_embeddings(), feature_model.module.item_embeddings())
    hist = UserHistories.from_interactions(chain_interactions())
    a, b = Recommender(feature_model, hist), Recommender(loaded, hist)
    assert a.recommend([10, 20, 30], k=5).equals(b.recommend([10, 20, 30], k=5))
    assert a.similar([100, 300], k=5).equals(b.similar([100, 300], k=5))
    # continuing the loaded run needs no items table: the checkpoint's vocabulary is kept
    config = SASRecConfig(**{**loaded.config.to_dict(), "epochs": 1})
    more = fit(chain_interactions(), config, init_model=loaded).model
    assert more.module.item_features is g and more.epochs_done == 3


def test_a_checkpoint_whose_features_disagree_with_its_settings_is_refused(feature_model, tmp_path):
    path = save_checkpoint(feature_model, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    del payload["item_features"]
    torch.save(payload, tmp_path / "no_vocab.pt")
    with pytest.raises(CheckpointError, match="trained with item features .* holds no feature vocabulary"):
        load_checkpoint(tmp_path / "no_vocab.pt")
    payload = torch.load(path, weights_only=True)
    payload["config"]["item_features"] = "genres"
    torch.save(payload, tmp_path / "other_columns.pt")
    with pytest.raises(CheckpointError, match="columns genres, release_year, for_kids but its settings name genres"):
        load_checkpoint(tmp_path / "other_columns.pt")
    payload = torch.load(path, weights_only=True)
    payload["item_features"]["offsets"] = payload["item_features"]["offsets"][:-1]
    torch.save(payload, tmp_path / "short.pt")
    with pytest.raises(CheckpointError, match="does not match the model it describes"):
        load_checkpoint(tmp_path / "short.pt")


# --------------------------------------------------------------------------- pipeline and CLI


def test_a_sweep_trains_its_trials_with_the_items_table(tmp_path):
    pytest.importorskip("optuna")
    from core.runs import RunStore
    from core.sweep import SweepSpec, parse_param, run_sweep

    config = SASRecConfig(epochs=1, item_features="genres", **SMALL)
    base = Experiment(config, FilterConfig(min_total_dur=0, min_item_freq=1), Holdout("last", k=5), items=_chain_items())
    result = run_sweep(chain_interactions(n_users=120), SweepSpec([parse_param("item_features=genres,for_kids")]), base,
                       out_dir=tmp_path / "sweep", store=RunStore(tmp_path / "runs.sqlite"))
    assert [t.state for t in result.trials] == ["finished", "finished"], [t.error for t in result.trials]
    columns = sorted(load_checkpoint(t.checkpoint_path)[0].module.item_features.columns[0] for t in result.trials)
    assert columns == ["for_kids", "genres"]


def test_cli_trains_with_item_features_and_finds_similar_items(cli_demo_dir, tmp_path):
    model = tmp_path / "m.pt"
    code, _, err = run_cli("train", str(cli_demo_dir), "--out", str(model), "--item-features", "genres,release_year", *TINY)
    assert code == 0, err
    loaded, _ = load_checkpoint(model)
    assert loaded.config.item_features == "genres,release_year"
    assert loaded.module.item_features.columns == ["genres", "release_year"]
    item = str(loaded.item_map.external[1])
    code, out, err = run_cli("similar", str(model), "--data", str(cli_demo_dir), "--item", item, "--k", "3")
    assert code == 0, err
    assert out.splitlines()[0] == "target_item_id,item_id,score,rank,title" and len(out.splitlines()) == 4


def test_cli_names_the_option_and_the_columns_for_an_unknown_column(cli_demo_dir, tmp_path):
    code, _, err = run_cli("train", str(cli_demo_dir), "--out", str(tmp_path / "m.pt"), "--item-features", "genres,colour", *TINY)
    assert code == 2
    assert err.startswith("error: --item-features: no column 'colour' in the items table; available: content_type,")
    assert not (tmp_path / "m.pt").exists()


# --------------------------------------------------------------------------- rare items

GENRES = ("drama", "comedy", "horror")


def _genre_groups(n_users: int = 100, group: int = 10, length: int = 8) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[int, str]]]:
    """Three genres of ``group`` popular items each (ids 101.., 201.., 301..); each user walks
    one genre's items in a cycle. Six rare items (two per genre) are watched once each, in
    the middle of one session of their genre."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for g in range(len(GENRES)):
        for u in range(n_users):
            start = int(rng.integers(0, group))
            users += [g * n_users + u + 1] * length
            items += [100 * (g + 1) + (start + i) % group + 1 for i in range(length)]
    rare = []
    for g, genre in enumerate(GENRES):
        for r in range(2):
            rare_id = 10_000 + 10 * g + r
            items[(g * n_users + r) * length + length // 2] = rare_id
            rare.append((rare_id, genre))
    interactions = pd.DataFrame({
        "user_id": np.asarray(users, np.int64), "item_id": np.asarray(items, np.int64),
        "datetime": pd.Timestamp("2021-01-01") + pd.to_timedelta(np.tile(np.arange(length), len(users) // length), unit="D"),
        "weight": np.ones(len(users), np.float32),
    })
    ids = sorted(set(items))
    genre_of = {i: GENRES[i // 100 - 1] if i < 10_000 else GENRES[(i - 10_000) // 10] for i in ids}
    table = pd.DataFrame({"item_id": np.asarray(ids, np.int64), "genres": [genre_of[i] for i in ids]})
    return interactions, table, rare


def _same_genre_share(interactions: pd.DataFrame, table: pd.DataFrame, rare: list[tuple[int, str]], features: str) -> float:
    """Over the rare items, the share of their 5 nearest popular items (i2i, cosine) that have their genre."""
    config = SASRecConfig(n_factors=32, n_blocks=1, session_maxlen=8, batch_size=32, epochs=6, lr=5e-3, device="cpu",
                          deterministic=True, seed=3, item_features=features)
    model = fit(interactions, config, items=table).model
    rare_ids = [r for r, _ in rare]
    similar = Recommender(model, UserHistories.from_interactions(interactions)).similar(rare_ids, k=5 + len(rare))
    similar = similar[~similar["item_id"].isin(rare_ids)].groupby("target_item_id").head(5)
    genre = table.set_index("item_id")["genres"]
    hits = [genre[i] == g for r, g in rare for i in similar.loc[similar["target_item_id"] == r, "item_id"]]
    assert len(hits) == 5 * len(rare)
    return float(np.mean(hits))


def test_rare_items_find_their_genre_with_features():
    interactions, table, rare = _genre_groups()
    assert (interactions["item_id"].isin([r for r, _ in rare])).sum() == len(rare)  # one interaction each
    with_features = _same_genre_share(interactions, table, rare, "genres")
    ids_only = _same_genre_share(interactions, table, rare, "")
    assert with_features >= 0.9
    assert ids_only <= 0.7  # a third by chance: the rare items' id embeddings barely trained
    assert with_features - ids_only >= 0.3
