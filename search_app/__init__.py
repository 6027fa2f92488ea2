"""政策检索 web application: see create_app."""
