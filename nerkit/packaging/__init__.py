"""From a trained pipeline to a pip-installable wheel: ``final_model`` (the
model to package, by rule; ``nerkit final-model``), ``wheel`` (the wheel with
test scores in meta.json and nerkit's components inside; ``nerkit package``)
and ``check`` (the wheel installed alone into a fresh virtual environment and
loaded offline; ``nerkit check-package``). Import the modules themselves:
``wheel`` and ``check`` load spaCy's packaging and subprocess machinery."""


class PackagingError(Exception):
    """A packaging step failed. ``title`` says what, ``detail`` (maybe empty)
    gives the evidence (an error output, the entities that differ)."""

    def __init__(self, title: str, detail: str = "") -> None:
        self.title = title
        self.detail = detail
        super().__init__(f"{title}\n{detail}" if detail else title)


__all__ = ["PackagingError"]
