"""Who is acting: recorded on orders, halts and resumes."""


def actor_of(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    auth = getattr(request, "auth", None)
    name = getattr(auth, "name", None)
    if name:
        return f"key:{name}"
    return f"anonymous@{request.META.get('REMOTE_ADDR', '?')}"
