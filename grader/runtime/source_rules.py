"""What a program to change may not say: the attribute syntax that would get past the fence.

The child runs learner code with its own builtins and module views (`guard.py`), so it cannot
*name* the harness. What it could still do is walk there with plain attribute syntax, which no
runtime check sees: `f.__globals__`, `f.__closure__[0].cell_contents`, `loop._now_ns = 0`,
`frame.f_back.f_locals`, `().__class__.__subclasses__()`. None of the exercises needs any of
it, so the grader reads the learner's file before it runs it and refuses such code with one
sentence naming the line.

Allowed: the dunder names that ordinary classes use (`__init__` through `super()`, comparison
and container methods, `__name__`), and `os._exit` and the `namedtuple` helpers, which are
public despite their underscore.

Standard library only (also importable in the sandbox).
"""

from __future__ import annotations

import ast
import functools
import re
import string
from dataclasses import dataclass

#: Dunder attributes that only describe or compare (never lead to globals, frames or classes).
_SAFE_DUNDER_ATTRIBUTES = frozenset(
    {
        "__name__", "__doc__", "__hash__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
        "__ge__", "__str__", "__repr__", "__len__", "__iter__", "__next__", "__contains__",
        "__getitem__", "__setitem__", "__delitem__", "__bool__", "__await__", "__aiter__",
        "__anext__", "__aenter__", "__aexit__", "__enter__", "__exit__", "__add__",
    }
)  # fmt: skip
#: Public names that happen to start with an underscore.
_PUBLIC_UNDERSCORE = frozenset({"_exit", "_asdict", "_replace", "_fields", "_make"})
#: Attributes that lead to frames, closures, code or the class hierarchy (see guard.FRAME_NAMES).
_FRAME_ATTRIBUTES = frozenset(
    {
        "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "tb_frame",
        "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "ag_code", "cell_contents",
        "get_stack", "print_stack", "mro",
    }
)  # fmt: skip
#: Dunder names a program may not define or use as plain names: they hook attribute access,
#: class creation or pickling (handing learner code the objects the harness passes through), or
#: are the module's own way to its builtins and loader.
_DENIED_NAMES = frozenset(
    {
        "__builtins__", "__loader__", "__spec__", "__import__", "__build_class__", "__dict__",
        "__class__", "__getattr__", "__getattribute__", "__setattr__", "__delattr__",
        "__init_subclass__", "__set_name__", "__class_getitem__", "__instancecheck__",
        "__subclasscheck__", "__mro_entries__", "__prepare__", "__get__", "__set__",
        "__delete__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__",
        "__closure__", "__globals__", "__code__", "__subclasses__", "__bases__", "__mro__",
        "__self__", "__func__", "__wrapped__", "__traceback__", "__defaults__",
        "__kwdefaults__", "__weakref__", "__objclass__",
    }
)  # fmt: skip


#: `str.format` reads the attributes its fields name (`"{0.__class__}".format(x)`) without
#: passing through any of the fence's checks: only a literal template, whose fields are read
#: here, may be formatted.
_FORMAT_METHODS = frozenset({"format", "format_map"})
_FIELD_ATTRIBUTE = re.compile(r"\.([^.\[]*)")


def _template_refused(template: str) -> str | None:
    """What a literal `str.format` template reads that attribute syntax may not."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return None  # format() itself will say what is wrong with it
    for _, field, spec, _ in fields:
        for name in _FIELD_ATTRIBUTE.findall(field or ""):
            what = _attribute_refused(name, on_super=False)
            if what is not None:
                return f"{what} in a format string"
        inner = _template_refused(spec) if spec and "{" in spec else None
        if inner is not None:
            return inner
    return None


@dataclass(frozen=True)
class Refusal:
    """Why a program is not run: the line and what it says there."""

    line: int
    what: str


def _attribute_refused(name: str, *, on_super: bool) -> str | None:
    if name in _FRAME_ATTRIBUTES:
        return f"`.{name}` (it leads to the interpreter's frames, closures or classes)"
    if name.startswith("__") and name.endswith("__"):
        if name in _SAFE_DUNDER_ATTRIBUTES or (on_super and name in {"__init__", "__new__"}):
            return None
        return f"`.{name}`"
    if name.startswith("_") and name not in _PUBLIC_UNDERSCORE:
        return f"`.{name}` (a private attribute of an object the program did not make)"
    return None


def _is_super_call(node: ast.expr) -> bool:
    """`super()` with no arguments: the learner's own class and instance, nothing else."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
        and not node.args
        and not node.keywords
    )


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[Refusal] = []

    def _refuse(self, node: ast.AST, what: str) -> None:
        self.found.append(Refusal(getattr(node, "lineno", 0), what))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        what = _attribute_refused(node.attr, on_super=_is_super_call(node.value))
        if what is None and node.attr in _FORMAT_METHODS:
            receiver = node.value
            if isinstance(receiver, ast.Constant) and isinstance(receiver.value, str):
                what = _template_refused(receiver.value)
            else:
                what = f"`.{node.attr}` on anything but a string literal (use an f-string)"
        if what is not None:
            self._refuse(node, what)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _DENIED_NAMES:
            self._refuse(node, f"the name `{node.id}`")

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        if node.name in _DENIED_NAMES:
            self._refuse(node, f"defining `{node.name}`")
        self.generic_visit(node)

    visit_FunctionDef = _definition  # noqa: N815
    visit_AsyncFunctionDef = _definition  # noqa: N815
    visit_ClassDef = _definition  # noqa: N815

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        # `case object(__globals__=g)` reads an attribute as surely as `x.__globals__`.
        for name in node.kwd_attrs:
            what = _attribute_refused(name, on_super=False)
            if what is not None:
                self._refuse(node, what)
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self._annotation(node.annotation)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._annotation(node.annotation)
        self.generic_visit(node)

    def _annotation(self, annotation: ast.expr | None) -> None:
        # A string annotation is code too, once something evaluates it.
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                inner = ast.parse(annotation.value, mode="eval")
            except SyntaxError:
                return
            before = len(self.found)
            self.visit(inner)
            for index in range(before, len(self.found)):
                self.found[index] = Refusal(annotation.lineno, self.found[index].what)


@functools.lru_cache(maxsize=256)  # one file is checked before each of its many runs
def refusals(source: str | bytes) -> tuple[Refusal, ...]:
    """What in `source` the grader refuses to run.

    Empty for a clean program, and for one that does not parse: the run itself then reports
    the syntax error with its line.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    checker = _Checker()
    checker.visit(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            checker._annotation(node.returns)  # noqa: SLF001 - the checker's own helper
    return tuple(checker.found)
