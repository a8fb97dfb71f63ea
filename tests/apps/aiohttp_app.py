"""An aiohttp app for `-k aiohttp.GunicornWebWorker`."""

import os

from aiohttp import web


async def index(request):
    return web.json_response({"framework": "aiohttp", "pid": os.getpid(), "path": request.path})


app = web.Application()
app.router.add_get("/{tail:.*}", index)
