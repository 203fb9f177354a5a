"""Ports and adapters: sources (CRM / FSM / CSV), ledgers (accounting), sandboxes."""
