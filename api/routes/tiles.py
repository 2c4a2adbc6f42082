"""(in progress: the tiles routes)"""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
