//! The API's integration tests, in one binary: each module covers one concern against a real
//! backend (the embedded SQLite file, and Redis + PostgreSQL in `distributed`).

mod actions;
mod auth;
mod bad_input;
mod bulk;
mod common;
mod connections;
mod dead_letters;
mod distributed;
mod events;
mod fuzz;
mod metrics;
mod openapi;
mod overview;
mod pauses;
mod queues;
mod same_site;
mod schedules;
mod search;
mod tasks;
