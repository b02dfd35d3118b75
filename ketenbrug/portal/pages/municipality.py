"""Portal pages: municipality (being built)."""

from fastapi import APIRouter

router = APIRouter()
