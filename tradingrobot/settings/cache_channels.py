"""Cache, channel layer and the realtime broker: Redis when `REDIS_URL` is set, in-process otherwise."""

from .base import env

REDIS_URL = env("REDIS_URL", default="")
# Seconds a cache call waits for Redis (connect, then each answer): a Redis that is down or unreachable costs a
# request at most this, then the callers that can do without the cache go on (memos skipped, limits not counted).
CACHE_REDIS_TIMEOUT_SECONDS = env.float("CACHE_REDIS_TIMEOUT_SECONDS", default=1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_REDIS_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_REDIS_TIMEOUT_SECONDS,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# ws /ws/updates (trading/realtime): with Redis, one pub/sub message per event reaches every web process.
REALTIME_BROKER = env("REALTIME_BROKER", default="redis" if REDIS_URL else "memory")  # memory | redis
REALTIME_REDIS_URL = env("REALTIME_REDIS_URL", default=REDIS_URL)
REALTIME_CHANNEL_PREFIX = env("REALTIME_CHANNEL_PREFIX", default="tradingrobot")  # pub/sub ignores the db number
REALTIME_CLIENT_QUEUE = env.int("REALTIME_CLIENT_QUEUE", default=32)  # frames a client may lag before it is dropped
REALTIME_SNAPSHOT_MAX_AGE = env.float("REALTIME_SNAPSHOT_MAX_AGE", default=1.0)  # seconds a connect snapshot is reused
REALTIME_DIRECT_WRITE = env.bool("REALTIME_DIRECT_WRITE", default=True)  # frame fan-out bytes once (fastwrite.py)
# gc.freeze after each status tick and a full collection right after every 12th (trading/realtime/hub.py): no
# full-GC pause inside a fan-out.
REALTIME_GC_BETWEEN_TICKS = env.bool("REALTIME_GC_BETWEEN_TICKS", default=True)
