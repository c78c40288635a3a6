//! Black-box tests: the real application on port 0, a fresh database per test, a real HTTP client.
//! One test binary, so the database template is built once per run.

mod clamd_fixture;
mod helpers;
mod nodes;
mod push_fixture;
mod smtp_fixture;

mod attempts;
mod audit;
mod auth;
mod billing;
mod channels;
mod cli;
mod cluster;
mod documents;
mod hostile_text;
mod http;
mod intake;
mod integrations;
mod isolation;
mod keys;
mod mail;
mod matter_activity;
mod matters;
mod milestones;
mod notify;
mod openapi;
mod outbox;
mod payments;
mod sessions;
mod socket_protocol;
mod socket_watch;
mod vault;
mod web;
