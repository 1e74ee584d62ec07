"""Sphinx extension: re-read the results page on every build.

The results page pastes tables that the chapters glue when they are executed (myst-nb's
```{glue}``` with `:doc:`). Sphinx tracks a page's own source, not that dependency, so after a
chapter is executed again an incremental build would keep the results page with the old numbers.
Re-reading one short page costs well under a second.
"""

PAGES = ("book/results",)


def _always_outdated(app, env, added, changed, removed):
    return [page for page in PAGES if page in env.found_docs]


def setup(app):
    app.connect("env-get-outdated", _always_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
