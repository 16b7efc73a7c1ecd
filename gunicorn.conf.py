"""gunicorn settings for `gunicorn wsgi:app`: the same ones `albicilla-proxy` runs with.

They come from `albicilla.server.gunicorn_options`, read from PROXY_* variables and `.env` by
`Settings`, so a malformed value is one line and exit status 2 under both entry points. Only
the settings are imported here: workers build the app themselves after gevent has patched them.
"""

from albicilla.server import gunicorn_conf_options

globals().update(gunicorn_conf_options())
