"""The sandbox admin templates render in, with bounds on what one operation may build.

A render cannot be stopped in the middle of one call into C: ``"x".ljust(10**10)``, ``"%999999999s" % x``,
``"{:>999999999}".format(x)``, ``|center``, ``|indent``, ``replace``, ``join`` or ``str()`` of a list repeated
inside a list build their whole result before the text bound (``MAX_TEXT``) or the time bound sees it. So each
such operation is refused before it runs when its result would be longer than ``MAX_TEXT``: widths, counts,
paddings and precisions above it, and the result lengths of replace, join, expandtabs, indent and wordwrap.
"""
from __future__ import annotations

import functools
import inspect
import re
import string

from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEXT = 20_000  # characters of an acknowledgement; a longer one is a template gone wrong
MAX_EXPONENT = 64
MAX_BITS = 65_536  # a product of whole numbers (about 20,000 digits): squaring in a loop doubles them each time
# One conversion of printf-style formatting: its width and precision (digits, or * for the next argument).
PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")
SIZED_FILTERS = ("center", "indent", "format", "join", "replace", "wordwrap", "truncate", "batch", "slice", "sum",
                 "round", "filesizeformat")


def _refuse(what: str):
    raise SecurityError(f"{what} is larger than {MAX_TEXT}")


def _check_number(value) -> None:
    """A width, count or padding given to a call: at most MAX_TEXT."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_TEXT:
        _refuse(f"a width or count of {value}")


def size(value, seen: dict | None = None) -> int:
    """About how many characters ``value`` is as text: a string its length, a number 1, a list the sizes of its
    items (each at least 1) however often one is repeated in it. Stops counting once past MAX_TEXT."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, (list, tuple, dict, set, frozenset)):
        return 1
    seen = {} if seen is None else seen
    if id(value) in seen:
        return seen[id(value)]
    seen[id(value)] = 1  # a list holding itself
    total = 0
    for item in (value.items() if isinstance(value, dict) else value):
        total += max(1, size(item, seen))
        if total > MAX_TEXT:
            break
    seen[id(value)] = total
    return total


def check_percent(template: str, arguments) -> None:
    """``template % arguments``: no width or precision above MAX_TEXT, written or taken from ``arguments``."""
    starred = False
    for width, precision in PERCENT_SPEC.findall(template):
        for number in (width, precision):
            if number == "*":
                starred = True
            elif number and int(number) > MAX_TEXT:
                _refuse(f"a width of {number} in {template[:40]!r}")
    if starred:
        for value in arguments if isinstance(arguments, tuple) else (arguments,):
            _check_number(value)


def check_format(template: str, args, kwargs) -> None:
    """``template.format(*args, **kwargs)``: no width or precision above MAX_TEXT, written or taken from them."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises its own error
    for _, _, spec, _ in fields:
        for number in re.findall(r"\d+", spec or ""):
            if int(number) > MAX_TEXT:
                _refuse(f"a width of {number} in {template[:40]!r}")
        if spec and "{" in spec:
            for value in (*args, *kwargs.values(), *(a for arg in args if isinstance(arg, dict) for a in arg.values())):
                _check_number(value)


def check_text_call(text: str, name: str, args: tuple, kwargs: dict) -> tuple:
    """A method of a string called from a template: refused when its result would be longer than MAX_TEXT.
    Returns the arguments to call it with (the items to join as a list, counted once)."""
    if name in ("format", "format_map"):
        check_format(text, args, kwargs)
        return args
    if name == "join" and args:
        args = (list(args[0]), *args[1:])
        _check_join(text, args[0])
    for value in (*args, *kwargs.values()):
        _check_number(value)
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tab, int) and len(text) + text.count("\t") * tab > MAX_TEXT:
            _refuse("the text with its tabs expanded")
    return args


def _check_replace(text: str, old: str, new: str, count) -> None:
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > MAX_TEXT:
        _refuse("the text after replace")


def _check_join(separator: str, items: list) -> None:
    if len(separator) * max(len(items) - 1, 0) + size(items) > MAX_TEXT:
        _refuse("the joined text")


def bounded_filter(name: str, original):
    """``original`` (one of SIZED_FILTERS), refusing arguments that make its result longer than MAX_TEXT."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def bounded(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        arguments = bound.arguments
        value_name = next(n for n in arguments if n not in ("eval_ctx", "environment", "context"))
        value = arguments[value_name]
        if name == "format":
            check_percent(str(value), arguments.get("kwargs") or tuple(arguments.get("args") or ()))
        elif name in ("join", "sum"):
            items = arguments[value_name] = list(value)  # counted once, then given to the filter
            start = arguments.get("start", 0)
            if name == "join" or isinstance(start, (str, list, tuple)) or \
                    any(isinstance(i, (str, list, tuple)) for i in items):
                separator = str(arguments.get("d", ""))
                if len(separator) * max(len(items) - 1, 0) + size(items) + size(start) > MAX_TEXT:
                    _refuse(f"the text of |{name}")
        else:
            for other, given in arguments.items():
                if other != value_name:
                    _check_number(given)
            _check_filter_result(name, str(value) if name in ("indent", "replace", "wordwrap") else "", arguments)
        return original(*bound.args, **bound.kwargs)

    return bounded


def _check_filter_result(name: str, text: str, arguments: dict) -> None:
    if name == "replace":
        _check_replace(text, str(arguments.get("old", "")), str(arguments.get("new", "")), arguments.get("count"))
    elif name == "indent":
        width = arguments.get("width", 4)
        width = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        if len(text) + (text.count("\n") + 1) * width > MAX_TEXT:
            _refuse("the indented text")
    elif name == "wordwrap":
        wrap = arguments.get("wrapstring") or "\n"
        width = arguments.get("width", 79)
        lines = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n") + 1
        if len(text) + lines * len(str(wrap)) > MAX_TEXT:
            _refuse("the wrapped text")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, and a render may not build a huge string or number (``"x" * 10**9``, ``9 ** 9 ** 9``,
    ``"x".ljust(10**9)``): a branch that the start-up trial render does not take must not be able to stall the
    host."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SIZED_FILTERS:
            if name in self.filters:
                self.filters[name] = bounded_filter(name, self.filters[name])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "%" and isinstance(left, str):
            check_percent(left, right)
        if operator == "*" and isinstance(left, int) and isinstance(right, (str, list, tuple)):
            left, right = right, left
        if operator == "*" and isinstance(left, (str, list, tuple)) and isinstance(right, int) \
                and size(left) * right > MAX_TEXT:
            raise SecurityError(f"a repetition longer than {MAX_TEXT}")
        if operator == "*" and all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right)) \
                and left.bit_length() + right.bit_length() > MAX_BITS:
            raise SecurityError(f"a product larger than {MAX_BITS} bits")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature
        method = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
        if isinstance(getattr(method, "__self__", None), str):
            args = check_text_call(method.__self__, getattr(method, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)
