"""Full-text search over the redacted turns of indexed calls: one query function, two backends.

- PostgreSQL: `search_turns.tsv`, a stored tsvector (English configuration) with a GIN index.
- SQLite: `search_fts`, an FTS5 table (porter stemming) kept in step with `search_turns` by triggers.
Both are made by migration 0007 and stay outside the SQLAlchemy models (`outside_models`).

The query text is a user's and may be hostile: it is never spliced into SQL or into FTS syntax.
It is cut into words (letters and digits) and "quoted phrases"; every word must occur in a turn,
every phrase as a phrase. On SQLite each word and phrase is written as an FTS5 string (words
only, so nothing in it is an operator: `NEAR(`, `:`, `*`, `"` and `-` are separators); on
PostgreSQL they go through plainto_tsquery / phraseto_tsquery as bound parameters. A query with
no word finds nothing. PostgreSQL drops English stop words ("the", "and") from a query and
SQLite does not, so a query of stop words alone finds nothing on PostgreSQL.

The index holds only redacted text (CallResult turns are redacted), filled when a result is
saved (`Store.save_result` calls `index_call`), dropped on erasure and when retention removes
the call's results (`drop_call`). Snippets are cut from that redacted text, without markup.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from sqlalchemy import column, delete, func, insert, literal_column, select, table, true
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from .call_filters import CallFilters, Scope, call_conditions
from .models import CallRow, ResultRow, SearchCallRow, SearchTurnRow

if TYPE_CHECKING:
    from pipeline.schema import CallResult

    from .db import Store

__all__ = ["MAX_HITS", "MAX_QUERY_CHARS", "SearchHit", "SearchPage", "ParsedQuery", "parse_query", "search",
           "index_call", "drop_call", "drop_calls", "purge", "reindex", "outside_models", "snippet"]

log = logging.getLogger(__name__)

MAX_HITS = 500  # per page
MAX_QUERY_CHARS = 500
_MAX_TERMS = 16  # words and phrases together; more is not a search, it is a document
_PG_CONFIG = "'english'::regconfig"  # as in the generated column, so that the GIN index applies
_FTS = "search_fts"
_SNIPPET_CHARS = 160
_RECENT_TURNS = 10_000  # PostgreSQL's first, bounded walk (see _pg_rows): about 500 calls

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+")


def outside_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name hook: False for the full-text index objects that the models do not
    describe (the FTS5 table and its shadow tables, the tsvector column and its index)."""
    if type_ == "table":
        return not (name == _FTS or (name or "").startswith(_FTS + "_"))
    if type_ == "column":
        return not (parent_names.get("table_name") == "search_turns" and name == "tsv")
    if type_ == "index":
        return name != "ix_search_turns_tsv"
    return True


class ParsedQuery(BaseModel):
    """A query cut into words and phrases (each a tuple of words); nothing else survives."""

    model_config = ConfigDict(frozen=True)

    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.words + tuple(w for p in self.phrases for w in p)


def parse_query(text: str) -> ParsedQuery:
    """Words and "quoted phrases" of a query (an unmatched quote counts as a separator)."""
    text = text[:MAX_QUERY_CHARS]
    phrases = [tuple(w.lower() for w in _WORD.findall(m.group(1))) for m in _PHRASE.finditer(text)]
    singles = [p[0] for p in phrases if len(p) == 1]  # a one-word phrase is a word
    words = list(dict.fromkeys(singles + [w.lower() for w in _WORD.findall(_PHRASE.sub(" ", text))]))
    phrases = list(dict.fromkeys(p for p in phrases if len(p) > 1))
    keep_words = words[:_MAX_TERMS]
    return ParsedQuery(words=tuple(keep_words), phrases=tuple(phrases[:_MAX_TERMS - len(keep_words)]))


def _fts5_expression(query: ParsedQuery) -> str:
    # Every piece is letters and digits only, in double quotes: an FTS5 string, never an operator.
    return " ".join([f'"{w}"' for w in query.words] + [f'"{" ".join(p)}"' for p in query.phrases])


def _pg_tsquery(query: ParsedQuery):
    parts = []
    if query.words:
        parts.append(func.plainto_tsquery(literal_column(_PG_CONFIG), " ".join(query.words)))
    parts.extend(func.phraseto_tsquery(literal_column(_PG_CONFIG), " ".join(p)) for p in query.phrases)
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("&&")(part)
    return combined


class SearchHit(BaseModel):
    """One matching turn: where it is, and an excerpt of its redacted text."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    turn_index: int
    start_s: float | None
    snippet: str


class SearchPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    hits: list[SearchHit]
    offset: int
    more: bool  # another page follows


def search(store: Store, query: str, *, filters: CallFilters | None = None, scope: Scope | None = None,
           limit: int = 50, offset: int = 0) -> SearchPage:
    """Turns whose redacted text matches the query, in calls that pass the filters and the scope.

    The most recently indexed call first, its turns in order (`index_call` writes a call's turns
    last to first, so the turn row id, descending, is that order): an order both indexes give
    without sorting the matches, so a page of a common word costs its own rows, not all the
    matches; and a stable one, so pages never overlap. Calls are indexed as they are processed,
    so this is newest first, except that a call processed again moves to the top.

    Args:
        query: the user's text (words and "quoted phrases"; anything else is a separator).
        filters: what the user narrowed to.
        scope: what the viewer may see at all (a team leader's teams, an agent's own calls).
        limit: hits per page, 1 to MAX_HITS.
        offset: hits to skip (paging).
    """
    parsed = parse_query(query)
    limit = max(1, min(int(limit), MAX_HITS))
    offset = max(0, int(offset))
    if parsed.empty:
        return SearchPage(hits=[], offset=offset, more=False)
    conditions = call_conditions(filters or CallFilters(), scope or Scope())
    columns = (SearchTurnRow.call_id, SearchTurnRow.turn_index, SearchTurnRow.start_s, SearchTurnRow.text)
    with store.session() as s:
        if store.dialect == "postgresql":
            rows = _pg_rows(s, parsed, columns, conditions, limit, offset)
        else:
            # FTS5 drives: it yields matches in rowid order, descending without sorting, so a page
            # stops after `limit` matches however common the words.
            fts = table(_FTS, column("rowid"))
            stmt = (select(*columns).select_from(fts).join(SearchTurnRow, SearchTurnRow.id == fts.c.rowid)
                    .join(CallRow, CallRow.call_id == SearchTurnRow.call_id)
                    .where(literal_column(_FTS).op("MATCH")(_fts5_expression(parsed)), *conditions)
                    .order_by(fts.c.rowid.desc()).limit(limit + 1).offset(offset))
            rows = s.execute(stmt).all()
    hits = [SearchHit(call_id=r.call_id, turn_index=r.turn_index, start_s=r.start_s,
                      snippet=snippet(r.text, parsed.tokens)) for r in rows[:limit]]
    return SearchPage(hits=hits, offset=offset, more=len(rows) > limit)


def _pg_rows(s: Session, parsed: ParsedQuery, columns, conditions, limit: int, offset: int) -> list:
    """A page of matching turns on PostgreSQL, newest first, in at most two bounded steps.

    PostgreSQL either walks the turns newest first until the page is full (cheap for common
    words, a whole-table walk when the words are rare) or takes every match from the GIN index
    and sorts them (cheap for rare words, costly for common ones). Its estimate of how common a
    query is fails for several words (it multiplies their frequencies as if independent; measured
    on 200,000 turns: a walk of 280 ms for 7 matches). So: first walk only _RECENT_TURNS turns
    back from the newest turn the filters allow; a page found there is the right page (the order
    is the same, and nothing newer passes the filters). Otherwise
    the matches are sparse: the GIN index finds them all (in a materialised CTE, so that the
    planner cannot walk instead, nor go through the filters' tables first), then they are
    filtered and sorted.
    """
    matching = literal_column("search_turns.tsv").op("@@")(_pg_tsquery(parsed))
    # The walk starts at the newest turn of a call the filters let through (a date range in the
    # past would otherwise walk recent turns that can never match). A call's turns have
    # consecutive ids, its first turn the highest (index_call), so that is one probe of the
    # (call_id, turn_index) index per call that passes: a cost in calls, never a walk of turns.
    if conditions:
        first_turn = (select(SearchTurnRow.id).where(SearchTurnRow.call_id == CallRow.call_id)
                      .order_by(SearchTurnRow.turn_index).limit(1).lateral())
        newest = s.scalar(select(func.max(first_turn.c.id)).select_from(CallRow).join(first_turn, true())
                          .where(*conditions))
    else:
        newest = s.scalar(select(func.max(SearchTurnRow.id)))
    if newest is None:
        return []  # no call passes the filters
    recent = (select(*columns).join(CallRow, CallRow.call_id == SearchTurnRow.call_id)
              .where(matching, SearchTurnRow.id.between(newest - _RECENT_TURNS + 1, newest), *conditions)
              .order_by(SearchTurnRow.id.desc()).limit(limit + 1).offset(offset))
    rows = s.execute(recent).all()
    if len(rows) > limit:
        return rows
    # A materialised CTE is computed on its own: by the GIN index, whatever the filters. Filters
    # and order then go by the matches' own call ids and ids (no index to walk instead).
    matches = (select(SearchTurnRow.id, SearchTurnRow.call_id).where(matching)
               .cte("matches").prefix_with("MATERIALIZED"))
    page = (select(matches.c.id).join(CallRow, CallRow.call_id == matches.c.call_id).where(*conditions)
            .order_by(matches.c.id.desc()).limit(limit + 1).offset(offset).subquery())
    everything = (select(*columns).join(page, page.c.id == SearchTurnRow.id)
                  .order_by(SearchTurnRow.id.desc()))
    return s.execute(everything).all()


def snippet(text: str, tokens: Iterable[str], width: int = _SNIPPET_CHARS) -> str:
    """An excerpt of the (redacted) text around the first word that matches a query token.

    A token matches a word that starts with its stem-like prefix (both indexes stem: "refunds"
    finds "refund"), case-insensitively; with no match the excerpt is the text's start.
    """
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    first = len(text)
    for token in tokens:
        prefix = token[:max(3, len(token) - 2)]
        found = re.search(r"\b" + re.escape(prefix), text, flags=re.IGNORECASE)
        if found:
            first = min(first, found.start())
    start = 0 if first == len(text) else max(0, first - width // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


# ------------------------------------------------------------------------------- writes


def _customer_sentiment(result: CallResult) -> float | None:
    """The customer's mean turn sentiment score over the call (None: no customer turn carries one)."""
    scores = [t.sentiment.score for t in result.turns if t.speaker == "customer" and t.sentiment is not None]
    return sum(scores) / len(scores) if scores else None


def index_call(s: Session, result: CallResult) -> int:
    """Replace the call's turns and facets in the search index (the call's row must exist); returns turns indexed."""
    s.execute(delete(SearchTurnRow).where(SearchTurnRow.call_id == result.call_id))
    # Last turn first: `search` lists by row id descending, which then reads the call in turn order.
    rows = [{"call_id": result.call_id, "turn_index": t.index, "speaker": t.speaker, "start_s": t.start_s,
             "text": t.text} for t in reversed(result.turns) if t.text.strip()]
    if rows:
        # The table's Core insert: one executemany, without the ORM's per-row bookkeeping.
        s.execute(insert(SearchTurnRow.__table__), rows)
    kinds = sorted({e.kind for e in result.events})
    facets = s.get(SearchCallRow, result.call_id) or SearchCallRow(call_id=result.call_id)
    facets.event_kinds = " " + " ".join(kinds) + " " if kinds else " "
    facets.customer_sentiment = _customer_sentiment(result)
    s.add(facets)
    return len(rows)


def drop_call(s: Session, call_id: str) -> int:
    """Delete the call's turns and facets from the search index; returns turns deleted."""
    n = s.execute(delete(SearchTurnRow).where(SearchTurnRow.call_id == call_id)).rowcount
    s.execute(delete(SearchCallRow).where(SearchCallRow.call_id == call_id))
    return n


def purge(s: Session) -> None:
    """Rewrite SQLite's FTS5 index so that deleted turns' words leave its pages.

    FTS5 (before SQLite 3.44's secure-delete) records a deletion as a marker and keeps the old
    entries until segments merge; 'optimize' merges them all now, and PRAGMA secure_delete zeroes
    the freed pages. It rewrites the whole index: call it once after a batch of deletions.
    PostgreSQL removes the row and its tsvector together (VACUUM reclaims the space, as for any row).
    """
    if s.get_bind().dialect.name == "sqlite":
        s.execute(sql_text(f"INSERT INTO {_FTS}({_FTS}) VALUES ('optimize')"))


def drop_calls(store: Store, call_ids: Iterable[str]) -> int:
    """Drop several calls' text from the search index in one transaction, then purge; returns turns deleted."""
    with store.session() as s:
        n = sum(drop_call(s, call_id) for call_id in call_ids)
        if n:
            purge(s)
    return n


def reindex(store: Store) -> int:
    """Index every call from its latest result.json (after migration 0007 on an existing index,
    or to rebuild); a call whose file is gone or unreadable is skipped. Returns calls indexed."""
    from pipeline.schema import CallResult

    latest = (select(ResultRow.call_id, func.max(ResultRow.id).label("id")).group_by(ResultRow.call_id).subquery())
    with store.session() as s:
        paths = s.execute(select(ResultRow.call_id, ResultRow.result_path)
                          .join(latest, latest.c.id == ResultRow.id)).all()
    done = 0
    for call_id, path in paths:
        try:
            result = CallResult.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("a call's result.json could not be read; it is not in the search index")
            continue
        if result.call_id != call_id:
            continue
        with store.session() as s:
            index_call(s, result)
        done += 1
    return done
