"""The greenr web app: NiceGUI pages that talk to the prediction API over HTTP only.

Run it with `python -m ui` (or `scripts/web_app.sh start`); `ui.app.create_root` builds the page.
Importing this package starts nothing.
"""
