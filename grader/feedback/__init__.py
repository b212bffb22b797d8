"""What people read: grades, orders and timelines rendered for a terminal, HTML, Markdown, JUnit.

Renderers take results and traces from `grader.model` and never run code, grade or write
anything but their own output; each escapes for its own medium.
"""
