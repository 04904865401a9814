"""The fidelity suite: svc-infra itself is the oracle for svc_nb's claims."""
