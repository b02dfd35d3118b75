"""Portal pages: officer (being built)."""

from fastapi import APIRouter

router = APIRouter()
