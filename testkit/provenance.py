"""A second, local signer that stands in for the model provider, whose API answers carry C2PA manifests of their
own (OpenAI's do): the loopback OpenAI server can sign every image it sends with it."""

from __future__ import annotations

import io
from dataclasses import dataclass

import c2pa

from generation.imaging.metadata import TRAINED_ALGORITHMIC_MEDIA
from generation.integrations.provenance.credentials import Issued, issue

PROVIDER = "Model Provider (test)"


@dataclass
class ProviderSigner:
    """Signs images as a model provider would: `c2pa.created` by its model, with its own certificate chain."""

    issued: Issued

    def __call__(self, data: bytes) -> bytes:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", self.issued.chain_pem, self.issued.key_pem, None))
        context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        manifest = {
            "claim_generator_info": [{"name": PROVIDER, "version": "1"}],
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                                "softwareAgent": {"name": "provider-image-model"},
                            }
                        ]
                    },
                }
            ],
        }
        mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        out = io.BytesIO()
        with c2pa.Builder(manifest, context) as builder:
            builder.sign(signer, mime, io.BytesIO(data), out)
        signer.close()
        return out.getvalue()


def provider_signer() -> ProviderSigner:
    return ProviderSigner(issue(PROVIDER))
