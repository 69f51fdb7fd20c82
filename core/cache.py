"""Django's Redis cache, keeping one redis client per connection pool (`core.compat` holds the
part that reaches into Django's client).

The stock `RedisCacheClient.get_client` builds a new `redis.Redis` for every call, and building
one costs more CPU than the round trip itself: the public status lookup makes about eight cache
calls, so this was most of its time.
"""

from django.core.cache.backends.redis import RedisCache

from core import compat


class PooledRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        compat.use_pooled_clients(self)
