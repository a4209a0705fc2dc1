"""Identifier columns: generated fresh, never copied.

An identifier column (a customer number, an order code) is not modelled by the networks. Its
encoder keeps only the *format* of the values and draws new values with the sampling RNG:

* with a ``pattern`` given in the metadata (a small regular-expression subset: literals,
  character classes such as ``[A-Z0-9]``, ``\\d``, and ``{n}`` / ``{m,n}`` counts), values are
  drawn uniformly from the strings the pattern matches;
* otherwise the format is learned: the prefix and suffix shared by every value (cut so that they
  do not end, or start, inside a run of digits), the distribution of the length of the part
  between them, and for each of its positions the character classes seen there (digits,
  lower-case or upper-case letters, reduced to ``a-f`` when the column looks hexadecimal, and
  any other character literally).

No training value is stored, not even hashed (a hash of a small space of identifiers is inverted
by enumerating it). Freshness is therefore a property of the format's size: when a generated
value would equal one of the ``n`` training values by chance in more than
:data:`MAX_COINCIDENCE_RATE` of the rows, a learned format is widened by as many characters as
needed (with a warning naming the column); a declared pattern is kept as given, with a warning
that gives the expected rate of chance matches. Values are unique within one ``sample`` call.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthgan.exceptions import DataValidationError
from synthgan.tabular.spans import ColumnSpan

__all__ = [
    "MAX_COINCIDENCE_RATE",
    "IdentifierEncoder",
    "IdentifierFormat",
    "fit_identifier",
    "parse_pattern",
]

MAX_COINCIDENCE_RATE = 1e-6  # expected chance matches with a training value, per generated row
DIGITS = string.digits
_LOWER, _UPPER, _HEX = string.ascii_lowercase, string.ascii_uppercase, "abcdef"
_MAX_DIGITS = {"8": 2, "16": 4, "32": 9, "64": 18}  # decimal digits that always fit the dtype
_SUPPORTED = (
    "literal characters, escaped characters (\\-, \\.), \\d, character classes such as "
    "[A-Z0-9_] (ranges and single characters, no negation), and counts {n} or {m,n} after a "
    "character or a class"
)
_REDRAW_ROUNDS = 50


# ---------------------------------------------------------------------------------------------
# patterns: a small regular-expression subset
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Piece:
    """One atom of a pattern: ``low`` to ``high`` characters drawn from ``alphabet``."""

    alphabet: str
    low: int = 1
    high: int = 1


def parse_pattern(pattern: str, *, column: str = "?") -> tuple[_Piece, ...]:
    """Parse ``pattern`` (the subset described in the module docstring) into pieces.

    Raises
    ------
    DataValidationError
        The pattern uses syntax outside the subset (named, with its position).
    """
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body
    pieces, i = [], 0
    while i < len(body):
        alphabet, i = _atom(body, i, pattern, column)
        low, high, i = _count(body, i, pattern, column)
        pieces.append(_Piece(alphabet, low, high))
    if not pieces:
        raise _pattern_error(column, pattern, "it is empty")
    return tuple(pieces)


def _atom(body: str, i: int, pattern: str, column: str) -> tuple[str, int]:
    char = body[i]
    if char == "\\":
        if i + 1 >= len(body):
            raise _pattern_error(column, pattern, "it ends with a lone backslash")
        escaped = body[i + 1]
        if escaped == "d":
            return DIGITS, i + 2
        if escaped.isalnum():
            raise _pattern_error(column, pattern, f"\\{escaped} is not supported")
        return escaped, i + 2
    if char == "[":
        return _char_class(body, i + 1, pattern, column)
    if char in ".*+?()|{}^$]":
        raise _pattern_error(column, pattern, f"{char!r} at position {i} is not supported")
    return char, i + 1


def _char_class(body: str, i: int, pattern: str, column: str) -> tuple[str, int]:
    chars: list[str] = []
    if i < len(body) and body[i] == "^":
        raise _pattern_error(column, pattern, "negated classes [^...] are not supported")
    while i < len(body) and body[i] != "]":
        char, i = (
            (body[i + 1], i + 2) if body[i] == "\\" and i + 1 < len(body) else (body[i], i + 1)
        )
        if i + 1 < len(body) and body[i] == "-" and body[i + 1] != "]":
            end = body[i + 1]
            if ord(end) < ord(char):
                raise _pattern_error(column, pattern, f"the range {char}-{end} is reversed")
            chars.extend(chr(c) for c in range(ord(char), ord(end) + 1))
            i += 2
        else:
            chars.append(char)
    if i >= len(body):
        raise _pattern_error(column, pattern, "a '[' is not closed")
    if not chars:
        raise _pattern_error(column, pattern, "a character class is empty")
    return "".join(sorted(set(chars))), i + 1


def _count(body: str, i: int, pattern: str, column: str) -> tuple[int, int, int]:
    if i >= len(body) or body[i] != "{":
        return 1, 1, i
    match = re.match(r"\{(\d+)(?:,(\d+))?\}", body[i:])
    if match is None:
        raise _pattern_error(column, pattern, f"the count at position {i} is not {{n}} or {{m,n}}")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if high < low or high == 0:
        raise _pattern_error(column, pattern, f"the count {match.group(0)} is empty or reversed")
    return low, high, i + match.end()


def _pattern_error(column: str, pattern: str, why: str) -> DataValidationError:
    return DataValidationError(
        f"metadata for column {column!r}: pattern {pattern!r} cannot be used because {why}. "
        f"Identifier patterns support {_SUPPORTED}; for example 'CUST-[0-9]{{8}}'."
    )


def _pattern_size(pieces: tuple[_Piece, ...]) -> float:
    """Number of strings the pattern matches (as a float: it can be astronomically large)."""
    size = 1.0
    for piece in pieces:
        size *= float(sum(len(piece.alphabet) ** k for k in range(piece.low, piece.high + 1)))
    return size


def _pieces_pair_probability(pieces: tuple[_Piece, ...]) -> float:
    """Probability that two independent draws of a pattern are equal: per piece, both draw
    the same length (uniform in ``low..high``) and the same characters."""
    probability = 1.0
    for piece in pieces:
        lengths = range(piece.low, piece.high + 1)
        chance = 1.0 / len(lengths)
        probability *= sum(chance * chance / float(len(piece.alphabet)) ** k for k in lengths)
    return probability


def _draw_pieces(pieces: tuple[_Piece, ...], n: int, rng: np.random.Generator) -> list[str]:
    parts = [_draw_block(p.alphabet, rng.integers(p.low, p.high + 1, n), rng) for p in pieces]
    return ["".join(row) for row in zip(*parts, strict=True)] if parts else [""] * n


def _draw_block(alphabet: str, lengths: np.ndarray, rng: np.random.Generator) -> list[str]:
    """For each row, ``lengths[i]`` characters drawn uniformly from ``alphabet``."""
    width = int(lengths.max(initial=0))
    letters = np.array(list(alphabet))[rng.integers(0, len(alphabet), (lengths.size, width))]
    return ["".join(row[:k]) for row, k in zip(letters.tolist(), lengths.tolist(), strict=True)]


# ---------------------------------------------------------------------------------------------
# learned formats
# ---------------------------------------------------------------------------------------------
@dataclass
class IdentifierFormat:
    """The format of identifier values, learned without keeping any of them.

    A value is ``prefix + body + widening + suffix``: the body has length ``lengths[j]`` with
    probability ``probs[j]``, its ``i``-th character is drawn from ``alphabets[i]``, and
    ``extra`` characters from ``widen_alphabet`` are added to make chance matches negligible.
    """

    prefix: str = ""
    suffix: str = ""
    lengths: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    alphabets: list[str] = field(default_factory=list)
    widen_alphabet: str = DIGITS
    extra: int = 0

    def coincidence_rate(self, n_train: int, extra: int | None = None) -> float:
        """Expected number of training values a generated value equals (per row).

        With ``n_j = p_j n`` training bodies of length ``L_j`` among ``S_j`` possible ones,
        a uniform draw of length ``L_j`` matches one of them with probability ``n_j / S_j``:
        the rate is ``n Σ_j p_j² / S_j``.
        """
        extra = self.extra if extra is None else extra
        widen = float(len(self.widen_alphabet)) ** extra
        rate = 0.0
        for length, p in zip(self.lengths, self.probs, strict=True):
            space = math.prod(float(len(a)) for a in self.alphabets[:length]) * widen
            rate += n_train * p * p / space
        return rate

    def pair_probability(self) -> float:
        """Probability that two independent draws are equal: ``Σ_j p_j² / S_j``."""
        return self.coincidence_rate(1)

    def draw(self, n: int, rng: np.random.Generator) -> list[str]:
        lengths = np.asarray(self.lengths)[rng.choice(len(self.lengths), size=n, p=self.probs)]
        width = int(lengths.max(initial=0))
        columns = [np.array(list(a))[rng.integers(0, len(a), n)] for a in self.alphabets[:width]]
        grid = np.stack(columns, axis=1).tolist() if columns else [[] for _ in range(n)]
        widening = _draw_block(self.widen_alphabet, np.full(n, self.extra), rng)
        return [
            f"{self.prefix}{''.join(row[:k])}{tail}{self.suffix}"
            for row, k, tail in zip(grid, lengths.tolist(), widening, strict=True)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "suffix": self.suffix,
            "lengths": list(self.lengths),
            "probs": list(self.probs),
            "alphabets": list(self.alphabets),
            "widen_alphabet": self.widen_alphabet,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdentifierFormat:
        return cls(**data)


def learn_format(values: list[str], *, integer: bool) -> IdentifierFormat:
    """Learn the format of ``values`` (non-missing identifiers as strings)."""
    prefix = _shared_prefix(values)
    rest = [v[len(prefix) :] for v in values]
    suffix = _shared_prefix([v[::-1] for v in rest])[::-1]
    bodies = [v[: len(v) - len(suffix)] for v in rest]
    lengths, counts = np.unique([len(b) for b in bodies], return_counts=True)
    width = int(lengths.max())
    seen = [{b[i] for b in bodies if len(b) > i} for i in range(width)]
    letters = {c for b in bodies for c in b if c.isascii() and c.isalpha()}
    hex_like = (
        bool(letters)
        and letters <= set(_HEX + _HEX.upper())
        and any(c.isdigit() for b in bodies for c in b)
    )
    alphabets = [_alphabet(chars, hex_like) for chars in seen]
    if integer and alphabets:
        alphabets[0] = DIGITS[1:]  # no leading zero: the value keeps its number of digits
    last = alphabets[-1] if alphabets else DIGITS
    return IdentifierFormat(
        prefix=prefix,
        suffix=suffix,
        lengths=[int(k) for k in lengths],
        probs=(counts / counts.sum()).tolist(),
        alphabets=alphabets,
        widen_alphabet=last if len(last) > 1 and not integer else DIGITS,
    )


def _shared_prefix(values: list[str]) -> str:
    """The prefix every value has, cut so that it does not end inside a run of digits."""
    first, last = min(values), max(values)  # the common prefix of all is theirs
    k = 0
    while k < min(len(first), len(last)) and first[k] == last[k]:
        k += 1
    if k == min(len(first), len(last)):  # a value would be all prefix: keep a body
        k = max(0, k - 1)
    while k > 0 and first[k - 1].isdigit():
        k -= 1
    return first[:k]


def _alphabet(chars: set[str], hex_like: bool) -> str:
    """The characters a position may take: the classes of the characters seen there."""
    out: set[str] = set()
    for char in chars:
        if char in DIGITS:
            out.update(DIGITS)
        elif char in _LOWER:
            out.update(_HEX if hex_like else _LOWER)
        elif char in _UPPER:
            out.update(_HEX.upper() if hex_like else _UPPER)
        else:
            out.add(char)  # punctuation (or a non-ASCII character), kept literally
    return "".join(sorted(out))


# ---------------------------------------------------------------------------------------------
# the encoder
# ---------------------------------------------------------------------------------------------
@dataclass
class IdentifierEncoder:
    """An identifier column: no spans in the network, fresh values drawn at decode time."""

    kind: ClassVar[str] = "id"
    name: str
    dtype: dict[str, Any]
    integer: bool = False
    missing_rate: float = 0.0
    pattern: str | None = None
    format: IdentifierFormat | None = None

    def spans(self, start: int) -> list[ColumnSpan]:
        return []

    def _draw(self, n: int, rng: np.random.Generator) -> list[str]:
        if self.pattern is not None:
            return _draw_pieces(parse_pattern(self.pattern, column=self.name), n, rng)
        return self.format.draw(n, rng)

    def pair_probability(self) -> float:
        """Probability that two independent draws of this column are equal (both present)."""
        if self.pattern is not None:
            return _pieces_pair_probability(parse_pattern(self.pattern, column=self.name))
        return self.format.pair_probability()

    def decode(self, n: int, rng: np.random.Generator) -> pd.Series:
        """``n`` fresh values, distinct within the call, with the column's dtype."""
        missing = rng.random(n) < self.missing_rate if self.missing_rate > 0 else np.zeros(n, bool)
        wanted = int((~missing).sum())
        drawn = pd.Series(self._draw(wanted, rng), dtype=object)
        if self.integer:
            drawn = drawn.map(int)
        for _ in range(_REDRAW_ROUNDS):
            repeated = drawn.duplicated().to_numpy()
            if not repeated.any():
                break
            fresh = pd.Series(self._draw(int(repeated.sum()), rng), dtype=object)
            drawn[repeated] = (fresh.map(int) if self.integer else fresh).to_numpy()
        else:
            raise DataValidationError(
                f"Column {self.name!r}: could not draw {wanted:,} distinct identifiers from its "
                "format; it has too few possible values. Sample fewer rows, or declare a wider "
                "'pattern' in the metadata."
            )
        values = np.empty(n, dtype=object)
        values[:] = np.nan
        values[~missing] = drawn.to_numpy()
        return self._typed(values, missing)

    def _typed(self, values: np.ndarray, missing: np.ndarray) -> pd.Series:
        dtype = self.dtype["dtype"]
        if not self.integer:
            series = pd.Series(values, name=self.name, dtype=object)
            return series if dtype == "object" else series.astype(dtype)
        if missing.any():
            values[missing] = None
            return pd.Series(pd.array(values.tolist(), dtype="Int64"), name=self.name).astype(dtype)
        return pd.Series(np.asarray(values.tolist(), dtype=np.int64), name=self.name).astype(dtype)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "dtype": self.dtype,
            "integer": self.integer,
            "missing_rate": self.missing_rate,
            "pattern": self.pattern,
            "format": None if self.format is None else self.format.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdentifierEncoder:
        fmt = data.get("format")
        return cls(
            name=data["name"],
            dtype=data["dtype"],
            integer=bool(data["integer"]),
            missing_rate=float(data["missing_rate"]),
            pattern=data.get("pattern"),
            format=None if fmt is None else IdentifierFormat.from_json(fmt),
        )


def fit_identifier(
    series: pd.Series, *, pattern: str | None = None, read_values: bool = True
) -> IdentifierEncoder:
    """The encoder of identifier column ``series``.

    Parameters
    ----------
    series : pandas.Series
        The training column (strings or non-negative integers).
    pattern : str, optional
        A declared format (see :func:`parse_pattern`); the values are then drawn from it.
    read_values : bool, default=True
        False under differential privacy: nothing is read from the values (a ``pattern`` is
        required, no missing values are generated and the values are not checked against it).
    """
    name = str(series.name)
    integer = _integer_column(series)
    dtype = {
        "dtype": "object" if isinstance(series.dtype, pd.CategoricalDtype) else str(series.dtype)
    }
    if pattern is not None:
        pieces = parse_pattern(pattern, column=name)
        if integer and (
            any(set(p.alphabet) - set(DIGITS) for p in pieces) or not sum(p.low for p in pieces)
        ):
            why = f"column {name!r} holds integers and it has characters other than digits or "
            raise _pattern_error(name, pattern, why + "can match an empty string")
        _check_pattern_space(name, pattern, _pattern_size(pieces), len(series))
    if not read_values:
        return IdentifierEncoder(name, dtype, integer, 0.0, pattern)
    observed = series.dropna()
    texts = [str(int(v)) if integer else str(v) for v in observed.tolist()]
    if integer and any(t.startswith("-") for t in texts):
        raise DataValidationError(
            f"Column {name!r} is an identifier column with negative integers; identifiers are "
            "generated from non-negative integers or strings. Convert it with .astype(str), or "
            "declare it continuous or discrete."
        )
    missing_rate = 1.0 - len(observed) / len(series)
    if pattern is not None:
        _check_values_match(name, pattern, texts)
        return IdentifierEncoder(name, dtype, integer, missing_rate, pattern)
    if not texts:
        raise DataValidationError(f"Column {name!r} is an identifier column with no values.")
    fmt = learn_format(texts, integer=integer)
    _widen(name, fmt, len(texts), _digit_limit(dtype["dtype"]) if integer else None)
    return IdentifierEncoder(name, dtype, integer, missing_rate, None, fmt)


def _integer_column(series: pd.Series) -> bool:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        raise DataValidationError(
            f"Column {series.name!r} is declared an identifier but has dtype {dtype}; "
            "identifiers are strings or integers. Declare another kind for it."
        )
    if pd.api.types.is_float_dtype(dtype):
        raise DataValidationError(
            f"Column {series.name!r} is declared an identifier but holds floats; identifiers "
            f"are strings or integers. Convert it, e.g. df[{series.name!r}].astype('Int64')."
        )
    return pd.api.types.is_integer_dtype(dtype)


def _digit_limit(dtype: str) -> int:
    bits = dtype.lower().lstrip("u").removeprefix("int")
    return _MAX_DIGITS.get(bits, 18)


def _widen(name: str, fmt: IdentifierFormat, n_train: int, digit_limit: int | None) -> None:
    """Lengthen ``fmt`` until chance matches with training values are negligible."""
    rate = fmt.coincidence_rate(n_train)
    if rate <= MAX_COINCIDENCE_RATE:
        return
    needed = math.ceil(math.log(rate / MAX_COINCIDENCE_RATE) / math.log(len(fmt.widen_alphabet)))
    allowed = needed if digit_limit is None else max(0, digit_limit - max(fmt.lengths))
    fmt.extra = min(needed, allowed)
    left = fmt.coincidence_rate(n_train)
    message = (
        f"Column {name!r} is an identifier whose format allows few values for its {n_train:,} "
        f"training rows: a value drawn in that format would equal a real one by chance in about "
        f"{rate:.2g} of the rows. Generated values are made {fmt.extra} character(s) longer "
    )
    if left <= MAX_COINCIDENCE_RATE:
        message += "(prefix, suffix and characters otherwise kept), so that such matches are "
        message += f"negligible (below {MAX_COINCIDENCE_RATE:g} per row)."
    else:
        message += (
            f"(as far as its integer dtype allows); chance matches remain at about {left:.2g} per "
            "row. They are coincidences, not copies: the model holds no real value. Convert the "
            "column to a wider dtype or declare a longer 'pattern' to make them negligible."
        )
    message += " Declare a 'pattern' in the metadata to set the format yourself."
    warnings.warn(message, UserWarning, stacklevel=6)


def _check_pattern_space(name: str, pattern: str, size: float, n_train: int) -> None:
    rate = n_train / size
    if rate > MAX_COINCIDENCE_RATE:
        warnings.warn(
            f"The pattern {pattern!r} of identifier column {name!r} matches about {size:.3g} "
            f"values: with {n_train:,} training rows, about {rate:.2g} of the generated values "
            "will equal a real one by chance (coincidences, not copies: the model holds no real "
            f"value). Lengthen the pattern to bring this below {MAX_COINCIDENCE_RATE:g}.",
            UserWarning,
            stacklevel=6,
        )


def _check_values_match(name: str, pattern: str, texts: list[str]) -> None:
    compiled = re.compile(pattern)
    outside = sum(compiled.fullmatch(t) is None for t in texts)
    if outside:
        warnings.warn(
            f"{outside:,} of the {len(texts):,} training values of identifier column {name!r} "
            f"do not match its pattern {pattern!r}; generated values follow the pattern. Check "
            "the pattern if the real values are right.",
            UserWarning,
            stacklevel=6,
        )
