"""The SASRec network, block for block as RecTools 0.19 builds it (see GUIDE §2).

Attention uses ``scaled_dot_product_attention`` (fused kernels where available); its maths
equals ``nn.MultiheadAttention`` with a causal mask and no key padding mask, which is what
RecTools' SASRec uses. ``attention_weights`` recomputes the probabilities for the views.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import SASRecConfig


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

    def forward(self, query: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        b, l, d = query.shape
        q, k, v = self._heads(query, kv)
        out = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout_rate if self.training else 0.0
        )
        return self.out_proj(out.transpose(1, 2).reshape(b, l, d))

    def forward_at(self, query: torch.Tensor, kv: torch.Tensor, positions: torch.Tensor, batch: int, length: int) -> torch.Tensor:
        """``forward`` for packed rows: ``query``/``kv`` hold only the non-PAD ``positions`` of a
        (batch, length) layout. PAD rows enter as zero vectors, so their keys and values are the
        in-projection biases; their queries' outputs are never used. Attention (and its dropout)
        still runs on the padded layout, so the result equals ``forward`` at ``positions``."""
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

        out = F.scaled_dot_product_attention(
            split(q), split(k), split(v), is_causal=True, dropout_p=self.dropout_rate if self.training else 0.0
        )
        return self.out_proj(out.transpose(1, 2).reshape(batch * length, d).index_select(0, positions))

    def attention_weights(self, query: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        """Softmax attention probabilities, (batch, heads, L, L), causal, without dropout."""
        q, k, _ = self._heads(query, kv)
        scores = q @ k.transpose(-2, -1) / (q.shape[-1] ** 0.5)
        l = scores.shape[-1]
        causal = torch.ones(l, l, dtype=torch.bool, device=scores.device).tril()
        return scores.masked_fill(~causal, float("-inf")).softmax(-1)


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.q_layer_norm(x)
        x = q + self.multi_head_attn(q, x)
        f = self.ff_layer_norm(x)
        return f + self.dropout(self.feed_forward(f))

    def forward_at(self, x: torch.Tensor, positions: torch.Tensor, batch: int, length: int) -> torch.Tensor:
        """``forward`` on the packed non-PAD rows ``x`` of a (batch, length) layout."""
        q = self.q_layer_norm(x)
        x = q + self.multi_head_attn.forward_at(q, x, positions, batch, length)
        f = self.ff_layer_norm(x)
        return f + self.dropout(self.feed_forward(f))


class SASRec(nn.Module):
    """Item embeddings (row 0 = PAD) + learnable positions + SASRec blocks + final LayerNorm."""

    def __init__(self, n_items: int, config: SASRecConfig) -> None:
        super().__init__()
        self.n_items = n_items  # real items; the embedding table has n_items + 1 rows
        self.session_maxlen = config.session_maxlen
        d = config.n_factors
        self.item_emb = nn.Embedding(n_items + 1, d, padding_idx=0)
        self.pos_emb = nn.Embedding(config.session_maxlen, d) if config.use_pos_emb else None
        self.emb_dropout = nn.Dropout(config.dropout_rate)
        self.blocks = nn.ModuleList(
            SASRecBlock(d, config.n_heads, config.dropout_rate) for _ in range(config.n_blocks)
        )
        self.last_layernorm = nn.LayerNorm(d, eps=1e-8)

    def xavier_init(self) -> None:
        """Xavier-normal init of every weight matrix, as RecTools does (embeddings included)."""
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        seqs = self.item_emb(x)
        if self.pos_emb is not None:
            # RecTools' "inverse" positions: the last column gets position 0.
            l = x.shape[1]
            seqs = seqs + self.pos_emb.weight[:l].flip(0)
        return self.emb_dropout(seqs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch, L, d) of left-padded sessions ``x`` (batch, L)."""
        mask = (x != 0).unsqueeze(-1).to(self.item_emb.weight.dtype)
        seqs = self._embed(x)
        for block in self.blocks:
            seqs = block(seqs * mask)
        return self.last_layernorm(seqs * mask)

    def hidden_at(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Hidden states at the flat ``positions`` of ``x``, which must be exactly its non-PAD
        positions: equals ``forward(x).reshape(-1, d)[positions]``, but the per-position layers
        (embeddings, LayerNorms, projections, feed-forward, dropout) skip PAD positions.
        In training these are the target positions, known before the step (no host sync)."""
        batch, length = x.shape
        h = self.item_emb(x.reshape(-1).index_select(0, positions))
        if self.pos_emb is not None:
            h = h + self.pos_emb.weight[:length].flip(0).index_select(0, positions % length)
        h = self.emb_dropout(h)
        for block in self.blocks:
            h = block.forward_at(h, positions, batch, length)
        return self.last_layernorm(h)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per block, the attention probabilities (batch, heads, L, L) for sessions ``x``."""
        mask = (x != 0).unsqueeze(-1).to(self.item_emb.weight.dtype)
        seqs = self._embed(x)
        maps = []
        for block in self.blocks:
            seqs = seqs * mask
            q = block.q_layer_norm(seqs)
            maps.append(block.multi_head_attn.attention_weights(q, seqs))
            seqs = block(seqs)
        return maps

    def item_embeddings(self) -> torch.Tensor:
        """The embedding table (n_items + 1, d); row 0 is PAD."""
        return self.item_emb.weight

    def output_embeddings(self) -> torch.Tensor:
        """The table used for logits: as ``item_embeddings`` but the PAD row gets no gradient,
        as in RecTools, where the table is looked up through ``padding_idx``."""
        weight = self.item_emb.weight
        return torch.cat((weight[:1].detach(), weight[1:]))
