"""Keeps the code under test away from the harness that records what it did.

A produce exercise is scored from what the child records inside the learner's own interpreter:
the printed lines, which task printed each and when, and the instrumented helpers' counters.
Code that could reach the recorder, the virtual clock or the counters could rewrite them, so
the learner's module runs behind two fences, both set up here before it loads:

- **A namespace with no way out.** The module gets its own builtins (no `eval`, `exec`,
  `compile`, `vars`, `globals`, `breakpoint`; `getattr`/`setattr`/`delattr`/`hasattr` refuse
  private and frame names; `type(x)` of a harness object names the asyncio class it stands in
  for) and its own `__import__`, which hands out *views* of modules:
  a view shows a module's public names only, never its private ones, its `sys.modules`, or the
  modules that reflect on objects (`gc`, `inspect`, `ctypes`, `pickle`, `copy`, `types`, ...).
  It carries the module's own name and `dir()`, as in a plain run; asking for a name it hides
  is noted, not answered as missing, so hiding gives nothing away that a program could use.
  The grader refuses attribute syntax that would get around this (`x.__globals__`,
  `loop._now_ns`, `frame.f_back`) before the run (`source_rules.py`).
- **A PEP 578 audit hook, for what gets past the first fence.** Installed before the module
  loads and impossible to remove, it refuses frame access from learner code (`sys._getframe`,
  `tb_frame`, a running coroutine's frame), heap walks (`gc.get_objects`, ...), tracing and
  profiling hooks, `ctypes`, new code or function objects, another audit hook, starting other
  programs, and `/proc`. Each refusal is noted where learner code cannot reach it (the hook's
  own closure, referenced only by the interpreter), and the run then scores nothing.

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

#: Modules whose public API walks or copies arbitrary objects, reaches frames, the heap or
#: memory, makes code, or imports by name: none of the exercises needs one.
DENIED_MODULES = frozenset(
    {
        "bdb", "builtins", "code", "codeop", "copy", "copyreg", "ctypes", "dis", "doctest",
        "faulthandler", "gc", "imp", "importlib", "kitrt", "linecache", "logging",
        "marshal", "multiprocessing", "operator", "pdb", "pickle", "pickletools", "pkgutil",
        "profile", "cProfile", "pstats", "runpy", "shelve", "site", "sysconfig", "timeit",
        "trace", "tracemalloc", "types", "unittest", "weakref", "zipimport",
    }
)  # fmt: skip

#: Public names hidden in every view: they would swap the grader's event loop, install
#: tracing hooks, or evaluate strings as code. (`get_event_loop_policy` is shown: the policy
#: it returns is the kit's, sealed and named like asyncio's own, as in a plain run.)
HIDDEN_NAMES = frozenset(
    {
        "set_event_loop_policy", "set_child_watcher",
        "get_child_watcher", "settrace", "setprofile", "settrace_all_threads",
        "setprofile_all_threads", "get_type_hints", "singledispatch", "singledispatchmethod",
        "Formatter",
    }
)  # fmt: skip

#: Modules seen through a narrow view: only these names (predicates that answer True/False;
#: the rest of `inspect` walks objects, frames and closures).
_NARROW_VIEWS = {
    "inspect": frozenset(
        {
            "isawaitable", "iscoroutine", "iscoroutinefunction", "isfunction", "ismethod",
            "isclass", "isgenerator", "isgeneratorfunction", "isasyncgen",
            "isasyncgenfunction", "isbuiltin", "isroutine", "isabstract",
        }
    )
}  # fmt: skip

#: Public names that start with an underscore anyway (`os._exit` ends the run, as it should).
_PUBLIC_UNDERSCORE = frozenset({"_exit"})

#: What `sys` shows to learner code: plain facts and the calls an exercise might make.
SYS_NAMES = frozenset(
    {
        "argv", "byteorder", "exc_info", "exception", "executable", "exit", "flags",
        "float_info", "getdefaultencoding", "getfilesystemencoding", "getrecursionlimit",
        "getsizeof", "hexversion", "implementation", "int_info", "intern", "maxsize",
        "maxunicode", "path", "platform", "setrecursionlimit", "stderr", "stdout", "version",
        "version_info",
    }
)  # fmt: skip

#: Attribute names learner code may not read or write through `getattr` and friends (the same
#: names `source_rules.py` refuses in attribute syntax): frames and closures lead to the harness.
FRAME_NAMES = frozenset(
    {
        "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "tb_frame",
        "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "ag_code", "cell_contents",
        "get_stack", "print_stack", "mro",
    }
)  # fmt: skip

#: The builtins learner code does without: each makes code from strings, or names objects
#: (the class of the running loop, a module's globals) that lead to the harness.
_REMOVED_BUILTINS = (
    "eval", "exec", "compile", "breakpoint", "globals", "locals", "vars", "input", "help",
    "__loader__", "__spec__",
)  # fmt: skip

_ALWAYS_REFUSED = frozenset(
    {
        "sys.settrace", "sys.setprofile", "sys._current_exceptions",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.addaudithook",
        "code.__new__", "function.__new__", "sys.monitoring.register_callback",
        "os.symlink", "os.link", "os.chdir",
    }
)  # fmt: skip
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_FORMAT_METHODS = frozenset({"format", "format_map"})
#: Refused without failing the run: the sandbox's isolation stops these too, and the older
#: adversarial cases expect the attack to fail quietly.
_QUIET_REFUSALS = {
    "os.chdir": "changing the working folder",
    "os.symlink": "making symbolic links",
    "os.link": "making hard links",
}
_HOOK_DENIED_IMPORTS = frozenset({"ctypes", "_ctypes", "_testcapi", "_testinternalcapi"})
#: Standard library callers that turn a frame into text or a module name, never hand it on.
_TRUSTED_CALLERS = tuple(
    os.path.join(*parts)
    for parts in (
        ("logging", "__init__.py"),
        ("typing.py",),
        ("collections", "__init__.py"),
        ("enum.py",),
        ("warnings.py",),
        ("asyncio", "coroutines.py"),
        ("asyncio", "format_helpers.py"),
    )
)
_PROC_PARTS = frozenset({"proc", "mem", "maps", "pagemap", "kcore"})


class GuardRefusal(PermissionError, ValueError):  # noqa: N818 - named for what learners read
    """Raised in learner code for what the grader does not allow under it.

    A `ValueError` too, so the standard library's own "who called me" lookups (`namedtuple`,
    `TypeVar`) fall back quietly instead of failing.
    """


class Guard:
    """What the child needs from the fence: the learner's builtins, and the refusal log."""

    def __init__(self, learner_file: str, report: Callable[[], list[str]]) -> None:
        self.learner_file = learner_file
        self._report = report
        self._views: dict[str, ModuleView] = {}
        #: The harness's classes that `type()` never names (the kit's modules are hidden anyway).
        self.hidden_classes: set[type] = set()
        self.builtins = self._make_builtins()

    def refusals(self) -> list[str]:
        """What learner code tried and was refused, in order (a copy)."""
        return self._report()

    # --- the learner's builtins --------------------------------------------------------------
    def _make_builtins(self) -> dict[str, Any]:  # noqa: C901 - small wrappers, one place
        space = dict(builtins.__dict__)
        for name in _REMOVED_BUILTINS:
            space.pop(name, None)
        note = self._note
        real_getattr, real_setattr, real_delattr = getattr, setattr, delattr

        def _checked(name: object, verb: str) -> None:
            if isinstance(name, str) and (name.startswith("_") or name in FRAME_NAMES):
                message = f"{verb} `{name}` is not allowed under the grader"
                note(message)
                raise AttributeError(message)

        def getattr_(obj: object, name: str, *default: object) -> object:
            _checked(name, "reading")
            if name in _FORMAT_METHODS and (obj is str or isinstance(obj, str)):
                # `str.format` reads attributes past every check here (source_rules.py).
                message = f"reading `str.{name}` by name is not allowed under the grader"
                note(message)
                raise AttributeError(message)
            return real_getattr(obj, name, *default)

        def hasattr_(obj: object, name: str) -> bool:
            _checked(name, "reading")
            return builtins.hasattr(obj, name)

        def setattr_(obj: object, name: str, value: object) -> None:
            _checked(name, "setting")
            real_setattr(obj, name, value)

        def delattr_(obj: object, name: str) -> None:
            _checked(name, "deleting")
            real_delattr(obj, name)

        hidden = self.hidden_classes

        def type_(*args: Any) -> Any:
            # `type(x)` of one of the harness's objects names the asyncio (or plain) class it
            # stands in for: what a plain run shows, and a class the harness does not rely on.
            if len(args) == 3:  # noqa: PLR2004 - type(name, bases, namespace): the learner's class
                name, bases, namespace = args
                return type(name, bases, {"__module__": "learner_exercise", **namespace})
            if len(args) != 1:
                return type(*args)
            cls = type(args[0])
            for base in cls.__mro__:
                if base not in hidden and not base.__module__.startswith("kitrt."):
                    return base
            return object  # pragma: no cover - object is never the kit's

        space.update(
            type=type_,
            getattr=getattr_,
            hasattr=hasattr_,
            setattr=setattr_,
            delattr=delattr_,
            __import__=self._import,
        )
        return space

    def _note(self, message: str) -> None:
        sys.audit("kitrt.refused", message)

    # --- imports -------------------------------------------------------------------------------
    def _import(
        self,
        name: str,
        globals: Any = None,  # noqa: A002 - __import__'s own signature
        locals: Any = None,  # noqa: A002
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> Any:
        if level != 0:
            message = "relative imports are not allowed under the grader"
            self._note(message)
            raise ImportError(message)
        if not module_allowed(name):
            if not _exists(name):  # as in a plain run: no such module, not a refusal
                msg = f"No module named {name!r}"
                raise ModuleNotFoundError(msg, name=name)
            message = f"importing `{name}` is not allowed under the grader"
            self._note(message)
            raise ImportError(message, name=name)
        top = __import__(name, None, None, fromlist or (), 0)
        if fromlist:
            view = self.view(top)
            for item in fromlist:
                # `from m import x` falls back on `sys.modules["m.x"]` when the view has no x:
                # a name the view hides must be refused here, never looked up there.
                there = hasattr(top, str(item)) or f"{top.__name__}.{item}" in sys.modules
                if item != "*" and not view._kit_shown(str(item)) and there:  # noqa: SLF001
                    message = f"importing `{item}` from `{name}` is not allowed under the grader"
                    self._note(message)
                    raise ImportError(message, name=name)
            return view
        return self.view(sys.modules[name.partition(".")[0]])

    def view(self, module: types.ModuleType) -> ModuleView:
        """The learner's view of `module` (one per module, made on first use)."""
        real_name = module.__name__
        view = self._views.get(real_name)
        if view is None:
            view = ModuleView(module, self)
            self._views[real_name] = view
        return view


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def module_allowed(name: str) -> bool:
    """Whether learner code may import `name` (as a view)."""
    parts = name.split(".")
    if name == "__future__" or name in _NARROW_VIEWS:
        return True
    return parts[0] not in DENIED_MODULES and not any(part.startswith("_") for part in parts)


class ModuleView(types.ModuleType):
    """A module as learner code sees it: public names only, modules in it seen as views."""

    def __init__(self, module: types.ModuleType, guard: Guard) -> None:
        # Named as the module is, as in a plain run. `from x import y` falls back on
        # `sys.modules[f"{x.__name__}.{y}"]` when y is missing: the fence's `__import__`
        # refuses a hidden y before that (a missing one finds nothing there, as in a plain run).
        super().__init__(module.__name__, module.__doc__)
        object.__setattr__(self, "_kit_module", module)
        object.__setattr__(self, "_kit_guard", guard)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [name for name in dir(module) if not name.startswith("_")]
        self.__all__ = [str(n) for n in names if self._shown(str(n))]

    def _kit_shown(self, name: str) -> bool:
        return self._shown(name)

    def _shown(self, name: str) -> bool:
        if (name.startswith("_") and name not in _PUBLIC_UNDERSCORE) or name in HIDDEN_NAMES:
            return False
        if self._kit_module.__name__ == "sys":
            return name in SYS_NAMES
        narrow = _NARROW_VIEWS.get(self._kit_module.__name__)
        return narrow is None or name in narrow

    def __getattr__(self, name: str) -> Any:
        module = self._kit_module
        if not hasattr(module, name):
            msg = f"module {module.__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        if not self._shown(name):
            # There in a plain run, hidden here: asking for it gives the grader away, so the
            # asking is noted (the run scores nothing) instead of answered as missing.
            message = f"`{module.__name__}.{name}` is not available under the grader"
            self._kit_guard._note(message)  # noqa: SLF001 - the fence's own log
            raise AttributeError(message)
        value = getattr(module, name)
        if module.__name__ == "sys" and name == "path":
            return list(value)  # a copy: a folder added to it must not change what loads
        if module.__name__ == "sys" and name == "flags":
            return plain_flags()  # as `python file.py` shows them, not the sandbox's -I -S -B
        if isinstance(value, types.ModuleType):
            if not module_allowed(value.__name__):
                msg = f"module {module.__name__!r} has no attribute {name!r}"
                raise AttributeError(msg)
            value = self._kit_guard.view(value)
        if name not in {"stdout", "stderr"}:  # those two follow the real ones
            self.__dict__[name] = value
        return value

    def __dir__(self) -> list[str]:
        return dir(self._kit_module)  # every name, as in a plain run (the hidden ones refuse)

    def __repr__(self) -> str:
        return repr(self._kit_module)


#: The flags the sandbox's command line sets (`-I -S -B`), which a plain `python file.py` lacks.
_SANDBOX_FLAGS = frozenset(
    {"isolated", "no_site", "ignore_environment", "no_user_site", "safe_path",
     "dont_write_bytecode"}
)  # fmt: skip
_PLAIN_FLAGS: list[Any] = []


def plain_flags() -> Any:
    """`sys.flags` as a plain run shows them: the sandbox's own flags off, the rest as they are."""
    if not _PLAIN_FLAGS:
        import collections
        import re

        names = re.findall(r"(\w+)=", repr(sys.flags))
        base = collections.namedtuple("flags", names, module="sys")  # type: ignore[misc]  # noqa: PYI024

        class Flags(base):  # a runtime-built namedtuple
            __slots__ = ()

            def __repr__(self) -> str:
                return "sys." + super().__repr__()

        Flags.__name__ = Flags.__qualname__ = "flags"
        Flags.__module__ = "sys"
        values = []
        for name in names:
            value = getattr(sys.flags, name)
            values.append(type(value)(0) if name in _SANDBOX_FLAGS else value)
        _PLAIN_FLAGS.append(Flags(*values))
    return _PLAIN_FLAGS[0]


# --- the audit hook ------------------------------------------------------------------------------
def arm(learner_file: str, kit_dir: str) -> Guard:
    """Install the audit hook (for the rest of this process) and return the learner's fence."""
    hook = _AuditHook(os.path.abspath(learner_file), os.path.abspath(kit_dir) + os.sep)
    sys.addaudithook(hook)
    # Only the interpreter holds the hook; the fence reads its log through a closure.
    return Guard(learner_file, lambda: list(hook.refused))


_MAX_NOTED = 20


class _AuditHook:
    """The audit hook: refuses what leads to the harness, and notes each refusal."""

    def __init__(self, learner_file: str, kit_dir: str) -> None:
        self.refused: list[str] = []
        self.local = threading.local()
        self.main_thread = threading.main_thread()
        self.learner_file = learner_file
        self.kit_dir = kit_dir
        self.stdlib = os.path.dirname(os.__file__) + os.sep
        # Looked up once: learner code may rebind module attributes, never these references.
        self.realpath = os.path.realpath
        self.current_thread = threading.current_thread
        self.getframe = sys._getframe  # noqa: SLF001 - the hook's own look at who is asking

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        local = self.local
        if getattr(local, "busy", False):
            return  # the hook's own look at frames and paths raises events too
        local.busy = True
        try:
            self.check(event, args)
        finally:
            local.busy = False

    def refuse(
        self, what: str, error: type[Exception] = GuardRefusal, *, fatal: bool = True
    ) -> None:
        if fatal and len(self.refused) < _MAX_NOTED:
            self.refused.append(what)
        msg = f"{what} is not allowed under the grader"
        raise error(msg)

    def check(self, event: str, args: tuple[Any, ...]) -> None:  # noqa: C901 - one table
        """One audit event: return to allow it, raise to refuse it."""
        if event == "kitrt.refused":  # the fence's own note (getattr, the sealed loop, ...)
            if len(self.refused) < _MAX_NOTED:
                self.refused.append(str(args[0]))
        elif event == "sys.addaudithook":
            # Only an exception derived from RuntimeError keeps the new hook out (and is
            # swallowed): the call seems to work, the run still scores nothing.
            self.refuse("adding an audit hook", RuntimeError)
        elif event in _ALWAYS_REFUSED:
            self.always_refused(event)
        elif event.startswith(("ctypes.", "_xxsubinterpreters.", "_interpreters.")):
            self.refuse("`ctypes` and subinterpreters")
        elif event == "object.__setattr__" and args[1] == "__code__":
            self.refuse("replacing a function's code")
        elif event == "import" and str(args[0]).partition(".")[0] in _HOOK_DENIED_IMPORTS:
            self.refuse(f"importing `{args[0]}`", ImportError)
        elif event == "open":
            if isinstance(args[0], (str, bytes)) and self.touches_proc(args[0]):
                self.refuse("opening files in /proc", fatal=False)
        elif event == "compile":
            if isinstance(args[1], str) and args[1].startswith(self.kit_dir):
                self.refuse("compiling code under the grader's file names")
        elif event in {"sys._getframe", "sys._current_frames"} or (
            event == "object.__getattr__" and args[1] in _FRAME_ATTRIBUTES
        ):
            self.check_frame(event, args)

    def always_refused(self, event: str) -> None:
        what = _QUIET_REFUSALS.get(event)
        if what is not None:
            self.refuse(what, fatal=False)
        self.refuse(f"`{event}`")

    def check_frame(self, event: str, args: tuple[Any, ...]) -> None:
        if (
            event == "object.__getattr__"
            and args[1] != "tb_frame"
            and self.frame_of_learner_coroutine(args[0])
        ):
            return
        if not self.frames_allowed():
            self.refuse("reaching the interpreter's frames")

    def kind_of(self, filename: str) -> str:
        if filename.startswith(self.kit_dir):
            return "kit"
        if filename.startswith((self.stdlib, "<frozen")):
            return "trusted" if filename.endswith(_TRUSTED_CALLERS) else "stdlib"
        return "learner"

    def frames_allowed(self) -> bool:
        """Whether the code asking for a frame may have it, by its nearest non-stdlib caller.

        The standard library modules in `_TRUSTED_CALLERS` only turn frames into text or module
        names (logging, reprs, `namedtuple`); the kit's own error reports read tracebacks; learner
        code, the end of the stack, or a worker thread gets nothing.
        """
        # 0 this, 1 check_frame, 2 check, 3 __call__, 4 the code that raised the event
        frame: types.FrameType | None = self.getframe(4)
        while frame is not None:
            kind = self.kind_of(frame.f_code.co_filename)
            if kind == "trusted":
                return True
            if kind == "learner":
                return False
            if kind == "kit":
                return self.current_thread() is self.main_thread
            frame = frame.f_back
        return False

    def frame_of_learner_coroutine(self, obj: Any) -> bool:
        """A suspended coroutine or generator of the learner's own: its frame leads nowhere."""
        code = getattr(obj, "gi_code", None) or getattr(obj, "cr_code", None)
        code = code or getattr(obj, "ag_code", None)
        running = (
            getattr(obj, "gi_running", False)
            or getattr(obj, "cr_running", False)
            or getattr(obj, "ag_running", False)
        )
        return code is not None and code.co_filename == self.learner_file and not running

    def touches_proc(self, path: str | bytes) -> bool:
        text = os.fsdecode(path)
        if set(text.replace("\\", "/").split("/")) & _PROC_PARTS:
            return True
        resolved = self.realpath(text)
        return resolved == "/proc" or resolved.startswith("/proc/")
