"""The vocabulary: coroutine function, coroutine, task, future, callback.

`example_function` is a coroutine function. Calling it gives a coroutine. `create_task` wraps a
coroutine in a task, which the event loop runs. A future is a box for a result that arrives
later (a task is a kind of future). A callback is a plain function that something else calls
for you - here, the future calls `callback` when it gets its result.
`inspect.iscoroutinefunction` tells a coroutine function from a plain one (asyncio's own
copy of it is deprecated since Python 3.14).

What to do: for each question in `PREDICTION`, replace the `...` with `True` or `False`: what
does this program print after each `->`? Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION`; each
answer you get right earns its share of the points.

Check it locally: `nox -s grade -- --only basics-vocabulary`
"""

import asyncio
import inspect


async def example_function() -> int:
    return 42


def callback(future: asyncio.Future[int]) -> None:
    pass


async def main() -> None:
    coroutine = example_function()
    task = asyncio.create_task(example_function())
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.add_done_callback(callback)
    facts = {
        "iscoroutinefunction(example_function)": inspect.iscoroutinefunction(example_function),
        "iscoroutine(example_function)": asyncio.iscoroutine(example_function),
        "iscoroutine(coroutine)": asyncio.iscoroutine(coroutine),
        "iscoroutine(task)": asyncio.iscoroutine(task),
        "isinstance(task, asyncio.Task)": isinstance(task, asyncio.Task),
        "isinstance(task, asyncio.Future)": isinstance(task, asyncio.Future),
        "isinstance(future, asyncio.Task)": isinstance(future, asyncio.Task),
        "isinstance(coroutine, asyncio.Future)": isinstance(coroutine, asyncio.Future),
        "callable(example_function)": callable(example_function),
        "callable(coroutine)": callable(coroutine),
        "iscoroutinefunction(callback)": inspect.iscoroutinefunction(callback),
        "task.done() right after create_task": task.done(),
    }
    for question, answer in facts.items():
        print(f"{question} -> {answer}")
    # Tidy up so Python has nothing to warn about: a coroutine that is never awaited should be
    # closed, and the task and the future should finish.
    coroutine.close()
    future.set_result(await task)


# TODO: replace each ... with True or False.
PREDICTION = {
    "iscoroutinefunction(example_function)": True,
    "iscoroutine(example_function)": False,
    "iscoroutine(coroutine)": True,
    "iscoroutine(task)": False,
    "isinstance(task, asyncio.Task)": True,
    "isinstance(task, asyncio.Future)": True,
    "isinstance(future, asyncio.Task)": False,
    "isinstance(coroutine, asyncio.Future)": False,
    "callable(example_function)": True,
    "callable(coroutine)": False,
    "iscoroutinefunction(callback)": False,
    "task.done() right after create_task": False,
}
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
