"""The AWS CLI shorthand syntax, so policies can be written exactly as ``aws sagemaker`` takes them.

``PriorityClasses=[{Name=inference,Weight=90}],FairShare=Enabled`` becomes
``{"PriorityClasses": [{"Name": "inference", "Weight": "90"}], "FairShare": "Enabled"}``.
Scalars stay strings: the pydantic model that receives the result does the typing, so
errors name the API field rather than a character position whenever the syntax is sound.
See https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-shorthand.html
"""

from __future__ import annotations

from typing import Any

_STOP_BARE = {",", "]", "}"}
# The SageMaker shapes nest four deep; anything far deeper is an attack on the stack.
MAX_DEPTH = 32


class ShorthandText(str):
    """A scalar written in CLI shorthand: the model types it, as the AWS CLI does.

    YAML values keep their YAML type (``Weight: true`` is not 1), while ``Weight=90`` in a
    shorthand string is text the API shape turns into an integer.
    """


class ShorthandSyntaxError(ValueError):
    """The text is not valid shorthand; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} at column {column}")
        self.column = column


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, message: str) -> ShorthandSyntaxError:
        return ShorthandSyntaxError(message, self.pos + 1)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "end of text"
            raise self.fail(f"expected {char!r}, found {found}")
        self.pos += 1

    def key(self) -> str:
        self.skip_spaces()
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "_-.:"):
            self.pos += 1
        if start == self.pos:
            found = repr(self.peek()) if self.peek() else "end of text"
            raise self.fail(f"expected a key, found {found}")
        return self.text[start : self.pos]

    def looks_like_key(self) -> bool:
        """True when the next token is ``Key=`` rather than another list item."""
        probe = self.pos
        while probe < len(self.text) and self.text[probe].isspace():
            probe += 1
        start = probe
        while probe < len(self.text) and (self.text[probe].isalnum() or self.text[probe] in "_-.:"):
            probe += 1
        end = probe
        while probe < len(self.text) and self.text[probe].isspace():
            probe += 1
        return end > start and probe < len(self.text) and self.text[probe] == "="

    def struct_body(self, closing: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            self.skip_spaces()
            if closing and self.peek() == closing:
                return result
            key_column = self.pos
            name = self.key()
            if name in result:
                self.pos = key_column
                raise self.fail(f"key {name!r} given twice")
            self.expect("=")
            value = self.value()
            # ``Key=a,b`` is shorthand for ``Key=[a,b]`` when ``b`` is not itself ``Key=``.
            while self.peek() == "," and not self.after_comma_is_key(closing):
                self.pos += 1
                if not isinstance(value, list):
                    value = [value]
                value.append(self.value())
            result[name] = value
            self.skip_spaces()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == closing:
                return result
            found = repr(self.peek()) if self.peek() else "end of text"
            expected = repr(closing) if closing else "end of text"
            raise self.fail(f"expected ',' or {expected}, found {found}")

    def after_comma_is_key(self, closing: str) -> bool:
        saved = self.pos
        self.pos += 1
        self.skip_spaces()
        at_end = self.peek() == closing or self.peek() == ""
        is_key = self.looks_like_key()
        self.pos = saved
        return is_key or at_end

    def value(self) -> Any:
        self.skip_spaces()
        char = self.peek()
        if char in ("[", "{"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"nested deeper than {MAX_DEPTH} levels")
            self.pos += 1
            if char == "[":
                nested: Any = self.list_body()
            else:
                nested = self.struct_body("}")
                self.expect("}")
            self.depth -= 1
            return nested
        if char in ("'", '"'):
            return self.quoted(char)
        start = self.pos
        while self.peek() and self.peek() not in _STOP_BARE:
            self.pos += 1
        return ShorthandText(self.text[start : self.pos].strip())

    def list_body(self) -> list[Any]:
        items: list[Any] = []
        self.skip_spaces()
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value())
            self.skip_spaces()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return items

    def quoted(self, quote: str) -> ShorthandText:
        self.pos += 1
        start = self.pos
        while self.peek() and self.peek() != quote:
            self.pos += 1
        if not self.peek():
            self.pos = start - 1
            raise self.fail(f"unterminated {quote} quote")
        self.pos += 1
        return ShorthandText(self.text[start : self.pos - 1])


def parse_shorthand(text: str) -> dict[str, Any]:
    """Parse AWS CLI shorthand into nested dicts, lists and strings.

    Args:
        text: e.g. ``ComputeQuotaResources=[{InstanceType=ml.g5.8xlarge,Count=2}]``.

    Returns:
        The structure the CLI would send, with every scalar as a :class:`ShorthandText`.

    Raises:
        ShorthandSyntaxError: the text is not shorthand; the message gives the column.
    """
    parser = _Parser(text)
    if not text.strip():
        raise parser.fail("empty shorthand")
    result = parser.struct_body("")
    if parser.peek():
        raise parser.fail(f"unexpected {parser.peek()!r}")
    return result
