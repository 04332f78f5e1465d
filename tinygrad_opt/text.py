"""Text to integers and back: the first step of a language model.

A model sees numbers, so text is cut into tokens and each token gets an id:

- `CharTokenizer`: one token per character; the vocabulary is the characters of a text.
  Simple, and the ids spell the text out letter by letter (a long sequence).
- `BPETokenizer`: byte-level byte-pair encoding, as in GPT-2. It starts from the 256 bytes,
  so it can write any string, and learns to join frequent neighbours into one token, so the
  same text becomes fewer ids.

Both have `encode(text) -> list[int]`, `decode(ids) -> str`, `vocab_size`, and `save(path)` /
`load(path)` in JSON.
"""

from __future__ import annotations

import json
import operator
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any


# ------------------------------------------------------------------ characters
class CharTokenizer:
    """One token per character: the ids are the positions of the characters in `chars`.

    `CharTokenizer(text)` takes its vocabulary from `text`: its distinct characters, sorted,
    so the same text always gives the same ids. A character the text did not contain cannot
    be encoded (a clear `ValueError` names it).
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer takes its characters from a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharTokenizer needs a non-empty text to take its characters from, got ''")
        self.chars: list[str] = sorted(set(text))
        self.id_of: dict[str, int] = {char: i for i, char in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        """How many characters the tokenizer knows; every id is below it."""
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """The id of each character of `text`."""
        _check_text(text)
        try:
            return [self.id_of[char] for char in text]
        except KeyError:
            position, char = next((i, c) for i, c in enumerate(text) if c not in self.id_of)
            raise ValueError(f"character {char!r} (U+{ord(char):04X}) at position {position} is not in the "
                             f"vocabulary of {self.vocab_size} characters") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters the ids stand for, joined."""
        return "".join(self.chars[i] for i in _check_ids(ids, self.vocab_size))

    def save(self, path: str | Path) -> None:
        """Write the vocabulary to a JSON file (`load` reads it back)."""
        _write_json(path, {"tokenizer": "CharTokenizer", "chars": "".join(self.chars)})

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        """A tokenizer written by `save`, with the same ids."""
        chars = _read_json(path, "CharTokenizer", "chars")
        if not isinstance(chars, str) or not chars:
            raise ValueError(f"{path}: 'chars' must be a non-empty string, got {chars!r}")
        return cls(chars)


# ------------------------------------------------------------------ byte pairs
# GPT-2's way to cut text into chunks before merging, written with the standard `re` module:
# a few English contractions, letters (with one space before them), digits, other symbols,
# and whitespace. `[^\W\d_]` is "a word character that is not a digit or '_'": a letter.
# The alternatives cover every character, so the chunks put back together are the text.
SPLIT_PATTERN = r"""'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
SPLIT = re.compile(SPLIT_PATTERN)


class BPETokenizer:
    """Byte-level byte-pair encoding (BPE): frequent neighbours merged into one token.

    Training, `BPETokenizer.train(text, vocab_size)`:

    1. Cut the text into chunks with `SPLIT_PATTERN` (" the", " cat", "'s", ","), so that a
       token never spans two words; count how often each distinct chunk occurs.
    2. Write every chunk as its UTF-8 bytes. The ids 0..255 are the bytes themselves.
    3. Count every pair of neighbouring ids in all the chunks, each chunk as often as it occurs.
    4. The most frequent pair (a tie goes to the smaller pair, so training is deterministic)
       becomes a new token with the next id, 256, 257, ...; every occurrence of the pair is
       replaced by it. Go back to 3 until there are `vocab_size` ids.

    Encoding applies the merges to each chunk in the order they were learned: among the pairs
    of the chunk, the one learned first is merged, again and again, until no pair of the chunk
    was learned. Decoding looks up the bytes of each id and reads them as UTF-8; the bytes of
    an id are those of the two ids it was merged from, joined.

    Any string that UTF-8 can write (every `str` without lone surrogates) survives
    `decode(encode(text))` unchanged, whatever text the tokenizer was trained on: a character
    it never saw is written byte by byte. References: P. Gage, "A New Algorithm for Data
    Compression", 1994; R. Sennrich, B. Haddow, A. Birch, "Neural Machine Translation of Rare
    Words with Subword Units", ACL 2016; A. Radford et al., "Language Models are Unsupervised
    Multitask Learners" (GPT-2: bytes as the base vocabulary, the split pattern), 2019.
    """

    def __init__(self, merges: Iterable[tuple[int, int]]) -> None:
        """A tokenizer from its merges: `merges[k]` is the pair of ids that token 256 + k stands for."""
        self.merges: list[tuple[int, int]] = []
        for k, pair in enumerate(merges):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                    and all(isinstance(i, int) and 0 <= i < 256 + k for i in pair)):
                raise ValueError(f"merge {k} (token {256 + k}) must be a pair of ids below {256 + k}, "
                                 f"got {pair!r}")
            self.merges.append((pair[0], pair[1]))
        self.id_of_pair: dict[tuple[int, int], int] = {pair: 256 + k for k, pair in enumerate(self.merges)}
        self.vocab: list[bytes] = [bytes([byte]) for byte in range(256)]  # the bytes each id stands for
        for first, second in self.merges:
            self.vocab.append(self.vocab[first] + self.vocab[second])
        self._chunk_ids: dict[str, list[int]] = {}  # encode's memory of the chunks it has seen

    @property
    def vocab_size(self) -> int:
        """256 bytes plus one token per merge; every id is below it."""
        return 256 + len(self.merges)

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn `vocab_size - 256` merges from `text` (fewer if the text runs out of pairs first)."""
        _check_text(text)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256 (one id per byte), got {vocab_size}")

        # 1-2. Each distinct chunk once, as a list of byte ids, with how often it occurs.
        chunk_counts = Counter(SPLIT.findall(text))
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        counts = list(chunk_counts.values())

        # 3. The count of every neighbouring pair, and the words each pair occurs in.
        pair_counts: Counter[tuple[int, int]] = Counter()
        words_with: dict[tuple[int, int], set[int]] = {}
        for w, word in enumerate(words):
            for pair in _pairs(word):
                pair_counts[pair] += counts[w]
                words_with.setdefault(pair, set()).add(w)

        merges: list[tuple[int, int]] = []
        while len(merges) < vocab_size - 256 and pair_counts:
            # 4. The most frequent pair, the smaller pair on a tie, becomes token `new_id`.
            best = min(pair_counts, key=lambda pair: (-pair_counts[pair], pair))
            new_id = 256 + len(merges)
            merges.append(best)
            # Only the words holding the pair change: take their pairs out of the counts,
            # merge, and count their new pairs in.
            for w in words_with.pop(best):
                for pair in _pairs(words[w]):
                    pair_counts[pair] -= counts[w]
                    if pair_counts[pair] == 0:
                        del pair_counts[pair]
                words[w] = _merge(words[w], best, new_id)
                for pair in _pairs(words[w]):
                    pair_counts[pair] += counts[w]
                    words_with.setdefault(pair, set()).add(w)
        return cls(merges)

    def encode(self, text: str) -> list[int]:
        """The ids of `text`: each chunk's bytes, merged in the order the merges were learned."""
        _check_text(text)
        ids: list[int] = []
        for chunk in SPLIT.findall(text):
            if chunk not in self._chunk_ids:
                self._chunk_ids[chunk] = self._encode_chunk(chunk)
            ids += self._chunk_ids[chunk]
        return ids

    def _encode_chunk(self, chunk: str) -> list[int]:
        try:
            word = list(chunk.encode("utf-8"))
        except UnicodeEncodeError as error:
            char = chunk[error.start]
            raise ValueError(f"character {char!r} (a lone surrogate) cannot be written in UTF-8, "
                             "so it has no bytes to encode") from None
        while len(word) >= 2:
            # The pair of this word that was learned first (the smallest new id), if any.
            first = min(_pairs(word), key=lambda pair: self.id_of_pair.get(pair, self.vocab_size))
            if first not in self.id_of_pair:
                break
            word = _merge(word, first, self.id_of_pair[first])
        return word

    def decode(self, ids: Iterable[int]) -> str:
        """The text the ids stand for. Bytes that are not valid UTF-8 (possible only for ids that
        `encode` did not make, such as a model's samples) become U+FFFD."""
        raw = b"".join(self.vocab[i] for i in _check_ids(ids, self.vocab_size))
        return raw.decode("utf-8", errors="replace")

    def save(self, path: str | Path) -> None:
        """Write the merges (and the split pattern they were learned with) to a JSON file."""
        _write_json(path, {"tokenizer": "BPETokenizer", "split_pattern": SPLIT_PATTERN,
                           "merges": [list(pair) for pair in self.merges]})

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """A tokenizer written by `save`, with the same merges and ids."""
        pattern = _read_json(path, "BPETokenizer", "split_pattern")
        if pattern != SPLIT_PATTERN:
            raise ValueError(f"{path}: merges learned with the split pattern {pattern!r}, this "
                             f"tokenizer splits with {SPLIT_PATTERN!r}")
        merges = _read_json(path, "BPETokenizer", "merges")
        if not isinstance(merges, list):
            raise ValueError(f"{path}: 'merges' must be a list of pairs of ids, got {type(merges).__name__}")
        return cls(merges)


def _pairs(word: list[int]) -> list[tuple[int, int]]:
    """The neighbouring pairs of `word`: [1, 2, 3] -> [(1, 2), (2, 3)]."""
    return list(zip(word[:-1], word[1:], strict=True))


def _merge(word: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """`word` with every occurrence of `pair`, left to right, replaced by `new_id`."""
    merged = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


# ------------------------------------------------------------------ checks and files
def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise TypeError(f"expected a str to encode, got {type(text).__name__}")


def _check_ids(ids: Iterable[int], vocab_size: int) -> list[int]:
    """The ids as Python ints, each checked to be in 0..vocab_size-1 (NumPy integers are welcome)."""
    checked = []
    for position, i in enumerate(ids):
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"token ids are integers, got {i!r} at position {position}") from None
        if not 0 <= i < vocab_size:
            raise ValueError(f"token id {i} at position {position} is out of range: ids go from 0 to "
                             f"{vocab_size - 1} (vocab_size {vocab_size})")
        checked.append(i)
    return checked


def _write_json(path: str | Path, content: dict) -> None:
    Path(path).write_text(json.dumps(content) + "\n", encoding="utf-8")


def _read_json(path: str | Path, kind: str, key: str) -> Any:
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a JSON file written by {kind}.save: {error}") from None
    if not isinstance(content, dict) or content.get("tokenizer") != kind:
        found = content.get("tokenizer") if isinstance(content, dict) else type(content).__name__
        raise ValueError(f"{path} does not hold a {kind} (found {found!r})")
    if key not in content:
        raise ValueError(f"{path}: a {kind} file needs the key {key!r}")
    return content[key]
