"""The network and its loss match RecTools 0.19's SASRec maths (reference re-typed from its source)."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.config import SASRecConfig
from core.model import SASRec
from core.train import plan_epoch, sequence_loss


class RefLayer(nn.Module):
    """RecTools' SASRecTransformerLayer, as written there."""

    def __init__(self, d: int, h: int, p: float) -> None:
        super().__init__()
        self.multi_head_attn = nn.MultiheadAttention(d, h, p, batch_first=True)
        self.q_layer_norm = nn.LayerNorm(d)
        self.ff_layer_norm = nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, d), nn.Linear(d, d)
        self.dropout = nn.Dropout(p)

    def forward(self, seqs, attn_mask):
        q = self.q_layer_norm(seqs)
        mha, _ = self.multi_head_attn(q, seqs, seqs, attn_mask=attn_mask, need_weights=False)
        seqs = q + mha
        ff_input = self.ff_layer_norm(seqs)
        seqs = self.ff2(F.relu(self.ff1(ff_input)))
        seqs = self.dropout(seqs)
        return seqs + ff_input


def reference_forward(model: SASRec, x: torch.Tensor, n_heads: int) -> torch.Tensor:
    d = model.item_emb.weight.shape[1]
    layers = []
    for block in model.blocks:
        ref = RefLayer(d, n_heads, 0.0)
        ref.multi_head_attn.in_proj_weight.data.copy_(block.multi_head_attn.in_proj_weight)
        ref.multi_head_attn.in_proj_bias.data.copy_(block.multi_head_attn.in_proj_bias)
        ref.multi_head_attn.out_proj.load_state_dict(block.multi_head_attn.out_proj.state_dict())
        ref.q_layer_norm.load_state_dict(block.q_layer_norm.state_dict())
        ref.ff_layer_norm.load_state_dict(block.ff_layer_norm.state_dict())
        ref.ff1.load_state_dict(block.feed_forward.ff_linear_1.state_dict())
        ref.ff2.load_state_dict(block.feed_forward.ff_linear_2.state_dict())
        layers.append(ref.eval())
    L = x.shape[1]
    seqs = model.item_emb.weight[x]
    positions = torch.arange(L - 1, -1, -1).expand(x.shape[0], L)  # LearnableInversePositionalEncoding
    seqs = seqs + model.pos_emb(positions)
    timeline = (x != 0).unsqueeze(-1)
    attn_mask = ~torch.tril(torch.ones(L, L, dtype=torch.bool))
    for layer in layers:
        seqs = seqs * timeline
        seqs = layer(seqs, attn_mask)
    seqs = seqs * timeline
    return model.last_layernorm(seqs)


@pytest.mark.parametrize("n_heads", [1, 2])
def test_forward_matches_rectools_block_order(n_heads):
    torch.manual_seed(0)
    config = SASRecConfig(n_factors=16, n_blocks=2, n_heads=n_heads, session_maxlen=6)
    model = SASRec(20, config)
    model.xavier_init()
    with torch.no_grad():
        for block in model.blocks:  # non-zero biases so a wrong layout would show
            block.multi_head_attn.in_proj_bias.normal_()
    model.eval()
    x = torch.tensor([[0, 0, 3, 5, 7, 9], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 11]])
    with torch.no_grad():
        ours = model(x)
        ref = reference_forward(model, x, n_heads)
    assert torch.allclose(ours, ref, atol=1e-5)
    # PAD positions of the last LayerNorm input are zero: all PAD rows equal LN(0)
    assert torch.allclose(ours[0, 0], ours[2, 0])


def test_xavier_normal_init_touches_every_matrix():
    torch.manual_seed(1)
    model = SASRec(n_items=500, config=SASRecConfig(n_factors=64, session_maxlen=8))
    model.xavier_init()
    std = model.item_emb.weight.std().item()
    assert math.isclose(std, math.sqrt(2 / (501 + 64)), rel_tol=0.1)
    w = model.blocks[0].multi_head_attn.in_proj_weight
    assert math.isclose(w.std().item(), math.sqrt(2 / (64 + 192)), rel_tol=0.1)


def _batch(seed=0):
    torch.manual_seed(seed)
    x = torch.tensor([[0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 1]])
    y = torch.tensor([[0, 0, 2, 3, 4], [0, 0, 0, 5, 6], [7, 8, 9, 1, 2]])
    w = torch.tensor([[0, 0, 1.0, 3.0, 1.0], [0, 0, 0, 3.0, 3.0], [1.0, 1, 1, 3, 1]])
    return x, y, w


def test_softmax_loss_equals_rectools_normalisation():
    x, y, w = _batch()
    config = SASRecConfig(n_factors=8, session_maxlen=5, dropout_rate=0.0)
    model = SASRec(10, config)
    model.xavier_init()
    positions = torch.nonzero((y != 0).reshape(-1)).squeeze(1)
    ours = sequence_loss(model, x, y, w, positions, len(positions), config)
    hidden = model(x)
    logits = hidden @ model.item_emb.weight.T  # RecTools: full catalog incl. PAD column
    loss = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=0, reduction="none") * w
    expected = loss.sum() / (loss > 0).sum()
    assert torch.allclose(ours, expected, atol=1e-6)


def test_pad_row_gets_no_gradient_from_the_logits():
    x, y, w = _batch()
    config = SASRecConfig(n_factors=8, session_maxlen=5, dropout_rate=0.0)
    model = SASRec(10, config)
    model.xavier_init()
    positions = torch.nonzero((y != 0).reshape(-1)).squeeze(1)
    sequence_loss(model, x, y, w, positions, len(positions), config).backward()
    grad = model.item_emb.weight.grad
    assert torch.count_nonzero(grad[0]) == 0
    assert torch.count_nonzero(grad[1:]) > 0


@pytest.mark.parametrize("loss", ["bce", "gbce"])
def test_sampled_losses_are_finite_and_weighted(loss):
    x, y, w = _batch()
    config = SASRecConfig(n_factors=8, session_maxlen=5, dropout_rate=0.0, loss=loss, n_negatives=3)
    model = SASRec(10, config)
    model.xavier_init()
    positions = torch.nonzero((y != 0).reshape(-1)).squeeze(1)
    g = torch.Generator().manual_seed(0)
    a = sequence_loss(model, x, y, w, positions, len(positions), config, g)
    g = torch.Generator().manual_seed(0)
    b = sequence_loss(model, x, y, w * 2, positions, len(positions), config, g)
    assert torch.isfinite(a) and a > 0
    assert torch.allclose(b, 2 * a)


@pytest.mark.parametrize("world", [1, 2, 3])
def test_epoch_plan_covers_every_target_once_across_ranks(world):
    y = torch.tensor([[0, 1, 2], [0, 0, 3], [4, 5, 6], [0, 0, 7], [0, 8, 9], [0, 0, 10], [11, 12, 13]])
    plans = [plan_epoch(y, batch_size=3, generator=torch.Generator().manual_seed(3), rank=r, world=world) for r in range(world)]
    single = plan_epoch(y, batch_size=3, generator=torch.Generator().manual_seed(3))
    seen = []
    for b in range(single.n_batches):
        batch_targets = []
        for plan in plans:
            rows = plan.rows[plan.row_offsets[b] : plan.row_offsets[b + 1]]
            flat = y[rows].reshape(-1)
            batch_targets += flat[plan.positions[plan.target_offsets[b] : plan.target_offsets[b + 1]]].tolist()
            assert plan.global_targets[b] == single.target_offsets[b + 1] - single.target_offsets[b]
        rows = single.rows[single.row_offsets[b] : single.row_offsets[b + 1]]
        assert sorted(batch_targets) == sorted(y[rows][y[rows] != 0].tolist())  # same batches as one process
        seen += batch_targets
    assert sorted(seen) == list(range(1, 14))


def test_attention_maps_are_causal_distributions():
    model = SASRec(10, SASRecConfig(n_factors=8, n_heads=2, n_blocks=2, session_maxlen=4)).eval()
    maps = model.attention_maps(torch.tensor([[0, 1, 2, 3]]))
    assert len(maps) == 2 and maps[0].shape == (1, 2, 4, 4)
    assert torch.allclose(maps[0].sum(-1), torch.ones(1, 2, 4))
    assert torch.all(maps[1][0, :, 0, 1:] == 0)


@pytest.mark.parametrize("n_heads", [1, 2])
def test_packed_hidden_states_equal_the_padded_forward(n_heads):
    torch.manual_seed(3)
    model = SASRec(20, SASRecConfig(n_factors=16, n_blocks=2, n_heads=n_heads, session_maxlen=6))
    model.xavier_init()
    with torch.no_grad():
        for block in model.blocks:
            block.multi_head_attn.in_proj_bias.normal_()
    model.eval()
    x = torch.tensor([[0, 0, 3, 5, 7, 9], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 11]])
    positions = torch.nonzero(x.reshape(-1)).squeeze(1)
    with torch.no_grad():
        full = model(x).reshape(-1, 16)[positions]
        packed = model.hidden_at(x, positions)
    assert torch.allclose(full, packed, atol=1e-5)
