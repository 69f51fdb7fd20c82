"""Django's Redis cache, keeping one redis client per connection pool.

The stock `RedisCacheClient.get_client` builds a new `redis.Redis` for every call, and building
one (its response-callback table) costs more CPU than the round trip itself: the public status
lookup makes about eight cache calls, so this was most of its time. Clients are thread-safe and
share the pool, so one per pool is enough.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _PooledClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class PooledRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _PooledClient
