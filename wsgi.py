"""The WSGI entry point for `gunicorn wsgi:app`: load `.env`, then build the app."""

from albicilla.config import load_dotenv_file
from albicilla.server import worker_app

load_dotenv_file()
app = worker_app()
