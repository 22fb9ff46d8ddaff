"""The assessor review web app (`callqa serve`): FastAPI with server-rendered templates.

    from pipeline.web.app import create_app
    from pipeline.web.settings import load_web_settings
    app = create_app(load_web_settings(out_dir=Path("out")))

Routes call the review service (pipeline.review); authz.py decides who may do what; auth.py
holds password hashing, sessions, CSRF and the login rate limit; users.py manages accounts.
Nothing is imported here, so that `callqa` starts without loading the web stack. See docs/web.md.
"""
