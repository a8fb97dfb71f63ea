"""A FastAPI app for the plug-in worker tests (`-k uvicorn_worker.UvicornWorker`)."""

import hashlib
import os
import time

from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/")
async def index():
    return {"ok": True, "pid": os.getpid()}


@app.post("/digest")
async def digest(request: Request):
    body = await request.body()
    return {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


@app.get("/block")
async def block(seconds: float = 5.0):
    # Blocks the event loop on purpose: nothing else in this worker runs, not even the heartbeat.
    time.sleep(seconds)
    return {"blocked": seconds}
