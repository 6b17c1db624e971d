"""The index: every passage as columns, an inverted index of their terms, which host
question each answer follows, built once per conversation (a shard) and kept in a
checksummed cache folder."""
