"""Who is acting: recorded on orders, halts and resumes."""


def actor_of(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    auth = getattr(request, "auth", None)
    application = getattr(auth, "application", None)  # an OAuth 2.0 client-credentials token
    if application is not None:
        return f"oauth:{application.name}"
    name = getattr(auth, "name", None)
    if name:
        return f"key:{name}"
    return f"anonymous@{request.META.get('REMOTE_ADDR', '?')}"
