"""The asyncio ordering kit's grader: a pytest plugin, a thin CLI and a sandboxed runtime."""
