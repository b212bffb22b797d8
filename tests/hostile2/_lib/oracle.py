# --- HOSTILE forging kit (tests/hostile2/_lib/oracle.py, pasted in by the harness) -----------
# What each produce exercise's hidden tests look for, computed from the exercise's text and the
# call's arguments (never from the kit), and ways to write it over what the sandbox recorded.
import asyncio as _aio

_NS = 1_000_000_000


def _cells(function):
    """The closure variables of a function by name (the instrumented helpers keep counters there)."""
    code = getattr(function, "__code__", None)
    closure = getattr(function, "__closure__", None) or ()
    if code is None:
        return {}
    return {name: cell.cell_contents for name, cell in zip(code.co_freevars, closure)}


def _forged(exercise, kw):
    """(lines as (text, task, t_ns), end_ns, value to return); fixes helper counters in place."""
    if exercise == "take-turns":
        labels, steps = kw.get("labels") or ["A", "B"], kw.get("steps", 3)
        lines = [(f"{l} step {s}", f"worker#{i}", 0) for s in range(steps) for i, l in enumerate(labels)]
        return lines, 0, None
    if exercise == "target-order":
        names, steps = kw.get("names") or ["a", "b"], kw.get("steps", 2)
        lines = [("main: start", "main", 0)]
        lines += [(f"{n}: step 1", f"job#{i}", 0) for i, n in enumerate(names)]
        lines.append(("main: all started", "main", 0))
        for s in range(2, steps + 1):
            lines += [(f"{n}: step {s}", f"job#{i}", 0) for i, n in enumerate(names)]
        lines.append(("main: done", "main", 0))
        return lines, 0, None
    if exercise == "fire-and-forget":
        saves = kw.get("saves") or {"report": 1.0}
        index = {label: i for i, label in enumerate(saves)}
        lines = [("main: request handled", "main", 0)]
        lines += [(f"{l}: saving", f"save#{index[l]}", 0) for l in saves]
        lines += [(f"{l}: saved", f"save#{index[l]}", round(saves[l] * _NS))
                  for l in sorted(saves, key=lambda l: saves[l])]
        return lines, round(max(saves.values()) * _NS), None
    if exercise == "shared":
        names = kw.get("names") or ["w1", "w2", "w3"]
        cells = _cells(kw.get("compute"))
        if "stats" in cells:
            value, delay = cells["value"], cells["delay"]
            first, last = f"{cells['label']} starts", f"{cells['label']} finished"
            stats = cells["stats"]
            stats["calls"] = 1
            stats["started_ns"][:] = [0]
            stats["finished_ns"][:] = [round(delay * _NS)]
        else:
            value, delay, first, last = 42, 2.0, "fetch_answer: computing...", "fetch_answer: done"
        d = round(delay * _NS)
        lines = [(first, "compute", 0)]
        lines += [(f"{n}: waiting", f"waiter#{i}", 0) for i, n in enumerate(names)]
        lines.append((last, "compute", d))
        lines += [(f"{n}: got {value}", f"waiter#{i}", d) for i, n in enumerate(names)]
        return lines, d, [value] * len(names)
    if exercise == "blocking":
        f, b = _cells(kw.get("fetch")), _cells(kw.get("beats"))
        if "stats" in f:
            value, seconds = f["value"], f["seconds"]
            f["stats"]["calls"] = 1
            f["stats"]["in_loop_thread"][:] = [False]
        else:
            value, seconds = "report ready", 1.2
        if "stats" in b:
            label, every, count = b["label"], b["every"], b["count"]
            b["stats"]["ticks_ns"][:] = [round(n * every * _NS) for n in range(count)]
            beat = lambda n: f"{label} {n}"  # noqa: E731
        else:
            every, count = 0.5, 4
            beat = lambda n: f"beat {n} at {n * every:.1f} s"  # noqa: E731
        events = [(round(n * every * _NS), 0, beat(n), "heartbeat") for n in range(count)]
        events += [(0, 1, "report: start", "make_report"),
                   (round(seconds * _NS), 1, f"report: {value}", "make_report")]
        events.sort(key=lambda e: (e[0], e[1]))
        lines = [(text, task, t) for t, _, text, task in events]
        return lines, max(round(seconds * _NS), round(count * every * _NS)), value
    raise ValueError(exercise)


def _entries(lines):
    return [{"text": t, "t_ns": ns, "task": task, "phase": "main"} for t, task, ns in lines]


def forge_result(result, exercise, kw):
    """Write the forged run over the result dict the sandbox is about to send."""
    lines, end, value = _forged(exercise, kw)
    trace = result.setdefault("trace", {})
    trace["lines"] = _entries(lines)
    trace["end_ns"] = end
    trace["events"] = []
    trace["tasks"] = [{"label": t, "created_ns": 0, "done_ns": end, "outcome": "finished"}
                      for t in sorted({task for _, task, _ in lines})]
    result.update(status="ok", error=None, flooded=False)
    if value is not None:
        result["return"] = value


def forge_recorder(recorder, loop, exercise, kw):
    """Write the forged run into the trace recorder (and the virtual clock) itself."""
    lines, end, value = _forged(exercise, kw)
    recorder.lines[:] = _entries(lines)
    recorder.last_ns = end
    if loop is not None:
        loop._now_ns = end - recorder.loop_time_offset_ns
    return value


def install_json_hook(exercise, kw):
    """The sandbox serialises its result with json.dumps: rewrite the result on the way out."""
    import json

    real = json.dumps

    def dumps(obj, *args, **kwargs):
        if isinstance(obj, dict) and "trace" in obj and "nonce" in obj:
            forge_result(obj, exercise, kw)
        return real(obj, *args, **kwargs)

    json.dumps = dumps
# --- end of the forging kit -------------------------------------------------------------------
