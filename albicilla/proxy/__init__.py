"""The capture path: a Flask blueprint that forwards every call and logs the APIs of `apis/`."""
