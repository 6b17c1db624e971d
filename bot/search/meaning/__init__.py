"""The meaning stage: the embedding models and every passage's vectors, fused into
one closeness per passage and an off-topic contrast."""
