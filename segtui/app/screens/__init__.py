"""The app's screens: one module per screen; each composes widgets and watches the App."""
