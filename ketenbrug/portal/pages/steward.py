"""Portal pages: steward (being built)."""

from fastapi import APIRouter

router = APIRouter()
