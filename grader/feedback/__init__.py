"""What people read: grades, orders and timelines rendered for a terminal, HTML, Markdown, JUnit.

Renderers take results and the feedback parts (`grader.model.parts`) and never run code, grade
or write anything but their own output; each escapes for its own medium. `compose` builds the
parts from what grading found; `text` is the plain-text renderer the others share pieces of.
"""
