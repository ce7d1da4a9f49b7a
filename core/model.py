"""The SASRec network, block for block as RecTools 0.19 builds it (see GUIDE §2).

Attention uses ``scaled_dot_product_attention`` (fused kernels where available); its maths
equals ``nn.MultiheadAttention`` with a causal mask and no key padding mask, which is what
RecTools' SASRec uses. With ``use_key_padding_mask`` PAD keys are left out too, as RecTools
merges the two masks (``attention_mask``). ``attention_weights`` recomputes the probabilities
for the views.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .config import SASRecConfig

if TYPE_CHECKING:
    from .item_features import ItemFeatures


def attention_mask(x: torch.Tensor) -> torch.Tensor:
    """Where each query may attend with a key padding mask, for left-padded sessions ``x``
    (batch, L) of item ids (0 = PAD): a bool tensor (batch, 1, L, L), True = attend.

    As RecTools 0.19 merges its causal mask with the key padding mask (``_merge_masks``):
    query i sees keys j <= i that are not PAD, and always itself (RecTools zeroes the merged
    mask's diagonal), so a PAD query, whose earlier keys are all PAD, attends to itself
    instead of to nothing (a softmax over no key gives NaN). Real queries see their own
    non-PAD key anyway; PAD queries' outputs are masked out by the model.
    """
    length = x.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
    itself = torch.eye(length, dtype=torch.bool, device=x.device)
    return ((causal & (x != 0).unsqueeze(1)) | itself).unsqueeze(1)


class CausalSelfAttention(nn.Module):
    """Multi-head attention with the parameter layout of ``nn.MultiheadAttention``."""

    def __init__(self, n_factors: int, n_heads: int, dropout_rate: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.dropout_rate = dropout_rate
        self.in_proj_weight = nn.Parameter(torch.empty(3 * n_factors, n_factors))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * n_factors))
        self.out_proj = nn.Linear(n_factors, n_factors)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _heads(self, query: torch.Tensor, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, l, d = query.shape
        w_q, w_kv = self.in_proj_weight.split([d, 2 * d])
        b_q, b_kv = self.in_proj_bias.split([d, 2 * d])
        q = F.linear(query, w_q, b_q)
        k, v = F.linear(kv, w_kv, b_kv).chunk(2, dim=-1)
        h = self.n_heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, l, h, d // h).transpose(1, 2)

        return split(q), split(k), split(v)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
        """Scaled dot-product attention: causal (``allowed`` None), else where ``allowed`` is True."""
        dropout_p = self.dropout_rate if self.training else 0.0
        if allowed is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout_p)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout_p)

    def forward(self, query: torch.Tensor, kv: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Attention of ``query`` over ``kv`` (both (batch, L, d)); ``allowed`` is
        ``attention_mask``'s (batch, 1, L, L) with a key padding mask, None for causal only."""
        b, l, d = query.shape
        q, k, v = self._heads(query, kv)
        out = self._attend(q, k, v, allowed)
        return self.out_proj(out.transpose(1, 2).reshape(b, l, d))

    def forward_at(self, query: torch.Tensor, kv: torch.Tensor, positions: torch.Tensor, batch: int, length: int,
                   allowed: torch.Tensor | None = None) -> torch.Tensor:
        """``forward`` for packed rows: ``query``/``kv`` hold only the non-PAD ``positions`` of a
        (batch, length) layout. PAD rows enter as zero vectors, so their keys and values are the
        in-projection biases; their queries' outputs are never used. Attention (and its dropout)
        still runs on the padded layout, so the result equals ``forward`` at ``positions``
        (``allowed`` as there)."""
        d = query.shape[-1]
        w_q, w_kv = self.in_proj_weight.split([d, 2 * d])
        b_q, b_kv = self.in_proj_bias.split([d, 2 * d])
        q_real = F.linear(query, w_q, b_q)
        kv_real = F.linear(kv, w_kv, b_kv)
        q = q_real.new_zeros(batch * length, d).index_copy(0, positions, q_real)
        kv_all = b_kv.to(kv_real.dtype).expand(batch * length, 2 * d).index_copy(0, positions, kv_real)
        k, v = kv_all.chunk(2, dim=-1)
        h = self.n_heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(batch, length, h, d // h).transpose(1, 2)

        out = self._attend(split(q), split(k), split(v), allowed)
        return self.out_proj(out.transpose(1, 2).reshape(batch * length, d).index_select(0, positions))

    def attention_weights(self, query: torch.Tensor, kv: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Softmax attention probabilities, (batch, heads, L, L), without dropout: causal, or
        where ``allowed`` (``attention_mask``'s) is True."""
        q, k, _ = self._heads(query, kv)
        scores = q @ k.transpose(-2, -1) / (q.shape[-1] ** 0.5)
        if allowed is None:
            l = scores.shape[-1]
            allowed = torch.ones(l, l, dtype=torch.bool, device=scores.device).tril()
        return scores.masked_fill(~allowed, float("-inf")).softmax(-1)


class PointWiseFeedForward(nn.Module):
    """W2 Dropout(ReLU(W1 x))."""

    def __init__(self, n_factors: int, dropout_rate: float) -> None:
        super().__init__()
        self.ff_linear_1 = nn.Linear(n_factors, n_factors)
        self.ff_dropout_1 = nn.Dropout(dropout_rate)
        self.ff_linear_2 = nn.Linear(n_factors, n_factors)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff_linear_2(self.ff_dropout_1(F.relu(self.ff_linear_1(x))))


class SASRecBlock(nn.Module):
    """q = LN(x); x = q + MHA(q, x, x); f = LN(x); x = f + Dropout(FFN(f))."""

    def __init__(self, n_factors: int, n_heads: int, dropout_rate: float) -> None:
        super().__init__()
        self.multi_head_attn = CausalSelfAttention(n_factors, n_heads, dropout_rate)
        self.q_layer_norm = nn.LayerNorm(n_factors)
        self.ff_layer_norm = nn.LayerNorm(n_factors)
        self.feed_forward = PointWiseFeedForward(n_factors, dropout_rate)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """The block on (batch, L, d); ``allowed``: ``attention_mask``'s, or None (causal only)."""
        q = self.q_layer_norm(x)
        x = q + self.multi_head_attn(q, x, allowed)
        f = self.ff_layer_norm(x)
        return f + self.dropout(self.feed_forward(f))

    def forward_at(self, x: torch.Tensor, positions: torch.Tensor, batch: int, length: int,
                   allowed: torch.Tensor | None = None) -> torch.Tensor:
        """``forward`` on the packed non-PAD rows ``x`` of a (batch, length) layout."""
        q = self.q_layer_norm(x)
        x = q + self.multi_head_attn.forward_at(q, x, positions, batch, length, allowed)
        f = self.ff_layer_norm(x)
        return f + self.dropout(self.feed_forward(f))


class SASRec(nn.Module):
    """Item embeddings (row 0 = PAD) + learnable positions + SASRec blocks + final LayerNorm.

    With ``item_features`` (``core.item_features``, built for these ``n_items``) the item
    tower is RecTools' ``SumOfEmbeddingsConstructor(IdEmbeddingsItemNet, CatFeaturesItemNet)``:
    an item's vector is its id embedding (``item_emb``) plus ``Dropout(EmbeddingBag(mode="sum"))``
    of its feature values (``feature_emb``), for the inputs and the logits alike
    (``item_table``). Without, the model is exactly the ids-only one (same weights, same RNG use).
    """

    def __init__(self, n_items: int, config: SASRecConfig, item_features: ItemFeatures | None = None) -> None:
        super().__init__()
        self.n_items = n_items  # real items; the embedding table has n_items + 1 rows
        self.session_maxlen = config.session_maxlen
        self.use_key_padding_mask = bool(config.use_key_padding_mask)
        self.feature_init_scale = float(config.feature_init_scale)
        d = config.n_factors
        self.item_emb = nn.Embedding(n_items + 1, d, padding_idx=0)
        self.item_features = item_features
        self._step_table: torch.Tensor | None = None  # a training step's table, shared by inputs and logits
        if item_features is not None:
            if item_features.n_items != n_items:
                raise ValueError(f"item features cover {item_features.n_items} items, the model has {n_items}")
            # registered right after item_emb: RecTools' parameter order (ids_emb, then embedding_bag)
            self.feature_emb = nn.EmbeddingBag(item_features.n_values, d, mode="sum")
            self.feature_dropout = nn.Dropout(config.dropout_rate)
            indices, offsets = item_features.bag_inputs()
            self.register_buffer("feature_indices", indices.clone(), persistent=False)
            self.register_buffer("feature_offsets", offsets.clone(), persistent=False)
        self.pos_emb = nn.Embedding(config.session_maxlen, d) if config.use_pos_emb else None
        self.emb_dropout = nn.Dropout(config.dropout_rate)
        self.blocks = nn.ModuleList(
            SASRecBlock(d, config.n_heads, config.dropout_rate) for _ in range(config.n_blocks)
        )
        self.last_layernorm = nn.LayerNorm(d, eps=1e-8)

    def xavier_init(self) -> None:
        """Xavier-normal init of every weight matrix, as RecTools does (embeddings included);
        the feature embeddings then scaled by ``config.feature_init_scale`` (1: as RecTools)."""
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)
        if self.item_features is not None and self.feature_init_scale != 1.0:
            with torch.no_grad():
                self.feature_emb.weight.mul_(self.feature_init_scale)

    def train(self, mode: bool = True) -> "SASRec":
        """``nn.Module.train``; also drops a training step's cached item table."""
        self._step_table = None
        return super().train(mode)

    def item_table(self) -> torch.Tensor:
        """Every item's vector, (n_items + 1, d), row 0 PAD: the id embedding, plus with item
        features the dropped-out sum of its feature-value embeddings (PAD has none), as
        RecTools' ``get_all_embeddings``. The PAD row gets no gradient. Without item features
        this is ``item_emb.weight`` itself."""
        weight = self.item_emb.weight
        if self.item_features is None:
            return weight
        ids = torch.cat((weight[:1].detach(), weight[1:]))
        features = self.feature_emb(self.feature_indices, self.feature_offsets)
        return ids + self.feature_dropout(features).to(ids.dtype)

    def _input_table(self) -> torch.Tensor:
        """``item_table`` for looking sessions up; in training the table is kept for the step's
        ``output_embeddings``, so inputs and logits share one dropout mask (RecTools computes the
        table once per forward)."""
        table = self.item_table()
        if self.training:
            self._step_table = table
        return table

    def _lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """Item vectors of internal ids ``ids`` (any shape) -> (*ids.shape, d)."""
        if self.item_features is None:
            return self.item_emb(ids)
        return F.embedding(ids, self._input_table())

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        seqs = self._lookup(x)
        if self.pos_emb is not None:
            # RecTools' "inverse" positions: the last column gets position 0.
            l = x.shape[1]
            seqs = seqs + self.pos_emb.weight[:l].flip(0)
        return self.emb_dropout(seqs)

    def _allowed(self, x: torch.Tensor) -> torch.Tensor | None:
        """``attention_mask(x)`` with the key padding mask on, else None (causal attention)."""
        return attention_mask(x) if self.use_key_padding_mask else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch, L, d) of left-padded sessions ``x`` (batch, L)."""
        mask = (x != 0).unsqueeze(-1).to(self.item_emb.weight.dtype)
        allowed = self._allowed(x)
        seqs = self._embed(x)
        for block in self.blocks:
            seqs = block(seqs * mask, allowed)
        return self.last_layernorm(seqs * mask)

    def hidden_at(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Hidden states at the flat ``positions`` of ``x``, which must be exactly its non-PAD
        positions: equals ``forward(x).reshape(-1, d)[positions]``, but the per-position layers
        (embeddings, LayerNorms, projections, feed-forward, dropout) skip PAD positions.
        In training these are the target positions, known before the step (no host sync)."""
        batch, length = x.shape
        h = self._lookup(x.reshape(-1).index_select(0, positions))
        if self.pos_emb is not None:
            h = h + self.pos_emb.weight[:length].flip(0).index_select(0, positions % length)
        h = self.emb_dropout(h)
        allowed = self._allowed(x)
        for block in self.blocks:
            h = block.forward_at(h, positions, batch, length, allowed)
        return self.last_layernorm(h)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per block, the attention probabilities (batch, heads, L, L) for sessions ``x``."""
        mask = (x != 0).unsqueeze(-1).to(self.item_emb.weight.dtype)
        allowed = self._allowed(x)
        seqs = self._embed(x)
        maps = []
        for block in self.blocks:
            seqs = seqs * mask
            q = block.q_layer_norm(seqs)
            maps.append(block.multi_head_attn.attention_weights(q, seqs, allowed))
            seqs = block(seqs, allowed)
        return maps

    def item_embeddings(self) -> torch.Tensor:
        """The item vectors (n_items + 1, d) that u2i, i2i, the item map and the explanations
        use (``item_table``: with item features, id plus feature embeddings); row 0 is PAD."""
        return self.item_table()

    def output_embeddings(self) -> torch.Tensor:
        """The table used for logits: as ``item_embeddings`` but the PAD row gets no gradient,
        as in RecTools, where the table is looked up through ``padding_idx``. With item
        features, in training, it is the table this step's inputs were looked up in."""
        if self.item_features is not None:
            table, self._step_table = self._step_table, None
            return table if table is not None and self.training else self.item_table()
        weight = self.item_emb.weight
        return torch.cat((weight[:1].detach(), weight[1:]))
