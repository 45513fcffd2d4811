"""The original backend's stack as a reference: a minimal FastAPI `GET /api/status` returning the same ~1 KB
status document (read once from FASTAPI_STATUS_PAYLOAD, a JSON file), served by uvicorn with 1 worker.

    FASTAPI_STATUS_PAYLOAD=status.json .venv/bin/uvicorn bench.fastapi_status:app --workers 1 --no-access-log

No key check, no rate limit, no middleware: the least the original framework does for this answer.
bench/api_load.py starts it and drives it with wrk beside the robot's /api/status in the same run.
"""

import json
import os
from pathlib import Path

from fastapi import FastAPI

PAYLOAD = json.loads(Path(os.environ["FASTAPI_STATUS_PAYLOAD"]).read_text())

app = FastAPI()


@app.get("/api/status")
async def status() -> dict:
    return PAYLOAD
