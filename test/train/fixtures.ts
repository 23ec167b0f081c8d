// Shared by the training tests: the dims of the tiny models whose gradients are checked in f64.

export const TINY = { n_embd: 8, n_head: 2, n_layer: 2, vocab_size: 13, n_positions: 8 };
