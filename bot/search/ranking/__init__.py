"""From candidates to a decision: the words stage's scores, words and meaning weighed
together, and the calibrated model that says whether the first passage is *the* answer."""
