"""K900 unused-noqa."""
from __future__ import annotations

import re

from keras_migrate.engine.api import (Applicability, Edit, Fix, Invalid, Rule, Severity, Valid, closest_code,
                                      known_codes)

_OURS = re.compile(r"^K\d+$")


class UnusedNoqa(Rule):
    """A `# noqa` comment names a rule code that suppresses nothing there, or no rule at all.

    ## What it does
    Checks each `# noqa: K…` comment (the ones a migration baseline writes with
    `keras-migrate check --add-noqa`) for codes that are not keras-migrate rules at all
    (`K1020`, a typo) and for codes of enabled rules that no longer flag anything on that
    logical line, because the code was migrated since the baseline was written.  Codes of
    other tools (`E501`, `F401`), bare `# noqa` comments and codes of rules that are not
    enabled for the file are left alone: another tool or another selection may need them.

    ## Why is this bad?
    A mistyped code suppresses nothing and hides that it does not; a stale code will
    silently hide the next real finding of that rule on the line.  Removing them keeps a
    baseline honest while the migration goes on.  This is ruff's `RUF100` for our codes.

    ## Example
    ```python
    import tensorflow as tf
    x = tf.constant(1)  # noqa: K9999
    ```

    ## Use instead
    ```python
    import tensorflow as tf
    x = tf.constant(1)
    ```

    ## Fix safety
    Safe: only the unused codes are removed (the whole comment when nothing else is left
    in it); other tools' codes and any text after the directive stay.

    ## References
    - https://docs.astral.sh/ruff/rules/unused-noqa/
    """

    code = "K900"
    name = "unused-noqa"
    message = "Unused `noqa` directive"
    severity = Severity.WARNING
    fix = Applicability.SAFE
    tags = ("unnecessary",)
    noqa_exempt = True   # reported on the comments themselves: a `# noqa` cannot hide it

    VALID = [
        Valid("import tensorflow as tf\nx = tf.constant(1)  # noqa: E501\n"),
        Valid("import tensorflow as tf\nx = tf.constant(1)  # noqa\n"),
        # K102 is a known code; whether it is used is judged only when K102 is enabled
        Valid("import tensorflow as tf\nm = tf.keras.Sequential()  # noqa: K102\n"),
    ]
    INVALID = [
        Invalid(
            """
            import tensorflow as tf
            x = tf.constant(1)  # noqa: K9999
            """,
            fixed="""
            import tensorflow as tf
            x = tf.constant(1)
            """,
            flagged=("# noqa: K9999",),
        ),
        Invalid(
            """
            import keras
            y = 2  # noqa: K1020, E501
            """,
            fixed="""
            import keras
            y = 2  # noqa: E501
            """,
            flagged=("# noqa: K1020, E501",),
        ),
        Invalid(
            """
            import keras
            z = 3  # noqa: K9999 kept for the old loader
            """,
            fixed="""
            import keras
            z = 3  # kept for the old loader
            """,
            flagged=("# noqa: K9999",),
        ),
    ]

    def check(self, ctx):
        """Nothing here: the engine calls ``check_noqa`` once the other rules have run."""


    def check_noqa(self, ctx, directives, findings, enabled) -> None:
        known = set(known_codes())
        for d in directives:
            ours = [c for c in d.codes if _OURS.match(c[0])]
            if not ours:
                continue
            used = {f.code for f in findings if d.first <= f.range.start.line <= d.last}
            unknown = [c for c, _, _ in ours if c not in known]
            unused = [c for c, _, _ in ours if c in known and c in enabled and c != self.code and c not in used]
            if not unknown and not unused:
                continue
            parts = []
            if unused:
                parts.append("unused: " + ", ".join(f"`{c}`" for c in unused))
            if unknown:
                hints = [closest_code(c) for c in unknown]
                parts.append("unknown: " + ", ".join(f"`{c}`" + (f" (did you mean `{h}`?)" if h else "")
                                                     for c, h in zip(unknown, hints)))
            bad = set(unknown) | set(unused)
            keep = [c for c, _, _ in d.codes if c not in bad]
            title = "Remove the unused codes" if keep else "Remove the unused `noqa` directive"
            ctx.report(self, (d.start, d.end), f"{self.message} ({'; '.join(parts)})",
                       fix=Fix.safe(title, _removal, ctx.text, d, keep))



def _removal(text: str, d, keep: list[str]):
    if keep:
        return Edit(d.codes[0][1], d.codes[-1][2], ", ".join(keep))
    line_end = text.find("\n", d.end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[d.end:line_end].rstrip("\r")
    if rest.strip():   # more comment text after the directive: it stays a comment
        return Edit(d.start, d.end + (len(rest) - len(rest.lstrip())), "# ")
    start = d.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Edit(start, d.end, "")
