"""A query, read once: what every stage of the search works from.

The words stage, the attributes asked for, the question's shape and the meaning
models each need the typed text in a different form (tags removed, normalised,
alias-folded, segmented). `QueryReader.read` makes every form in one pass and
the stages take the `Query`, so no stage cleans or normalises the text again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.search.language.question import Question, QuestionReader
from bot.search.ranking.words import PreparedQuery, WordScorer, clean_query, is_english
from bot.text import compact_text, has_searchable_text, normalize


@dataclass(frozen=True, slots=True)
class Query:
    """One query in every form a stage needs."""

    typed: str  # as the caller gave it
    cleaned: str  # pasted tags removed, cut to MAX_QUERY_CHARS: what the models embed
    folded: str  # normalised and alias-folded, as the index was: what asks are read from
    prepared: PreparedQuery | None  # its words and bigrams; None: nothing searchable
    question: Question  # the topic, the speakers it names, whether it is framed
    english: bool  # an English sentence (three Latin words, no Han)
    distinct_chars: int  # different characters once normalised ("啊啊啊" has one)

    @property
    def own_words(self) -> bool:
        """Asked in one's own words (a framed question or an English sentence): such a
        query is answered by meaning, not by its words alone."""
        return self.question.framed or self.english


class QueryReader:
    """Reads queries against one index's spelling groups and speakers."""

    def __init__(self, words: WordScorer, questions: QuestionReader) -> None:
        self.words = words
        self.questions = questions

    def read(self, typed: str, speakers: bool = True) -> Query:
        """Every form of `typed`; `speakers=False` ignores the speakers it names
        (an ablation: see SearchOptions.speakers)."""
        cleaned = clean_query(typed)
        normalized = normalize(cleaned)
        folded = self.words.aliases.fold(normalized)
        prepared = self.words.prepare_folded(folded) if has_searchable_text(cleaned) else None
        question = self.questions.read(normalized)
        if not speakers:
            question = Question(question.topic, question.unnamed, frozenset(), question.framed)
        return Query(
            typed=typed,
            cleaned=cleaned,
            folded=folded,
            prepared=prepared,
            question=question,
            english=is_english(cleaned),
            distinct_chars=len(set(compact_text(normalized))),
        )


__all__ = ["Query", "QueryReader"]
