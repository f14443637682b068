extension SagaOpenAPIDocument {
    /// `/v1/webhooks…`: subscriptions and deliveries (issue 19).
    static let webhookPaths = #"""
{
  "/v1/webhooks": {
    "get": {
      "operationId": "listWebhooks",
      "summary": "Webhook subscriptions, oldest first (secrets masked)",
      "responses": {
        "200": {
          "description": "The subscriptions",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "webhooks": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookSubscription"}}
                },
                "required": ["webhooks"],
                "additionalProperties": false
              }
            }
          }
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    },
    "post": {
      "operationId": "addWebhook",
      "summary": "Subscribe an address to lifecycle events committed from now on (admin)",
      "requestBody": {
        "required": true,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {
                "url": {"type": "string", "description": "http or https address"},
                "secrets": {
                  "type": "array",
                  "items": {"type": "string"},
                  "minItems": 1,
                  "description": "whsec_ followed by base64 (24 bytes or more); several while rotating"
                },
                "events": {
                  "type": "array",
                  "items": {
                    "enum": [
                      "saga.started",
                      "saga.completed",
                      "saga.compensating",
                      "saga.compensated",
                      "saga.needs_intervention",
                      "saga.failed",
                      "saga.terminated",
                      "intervention.opened",
                      "intervention.resolved"
                    ]
                  },
                  "description": "Empty or absent: all"
                },
                "workflow": {"type": "string", "description": "Only sagas of this workflow"}
              },
              "required": ["url", "secrets"],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "201": {
          "description": "Added",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSubscription"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this (changes need admin), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/webhooks/{id}": {
    "delete": {
      "operationId": "removeWebhook",
      "summary": "Delete a subscription and its deliveries (admin)",
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "schema": {"type": "string"},
          "description": "The subscription's id (wh_…)"
        }
      ],
      "responses": {
        "204": {"description": "Removed"},
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this (changes need admin), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such webhook subscription or delivery",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/webhooks/{id}/pause": {
    "post": {
      "operationId": "pauseWebhook",
      "summary": "Stop delivering to a subscription; its events keep being queued (admin)",
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "schema": {"type": "string"},
          "description": "The subscription's id (wh_…)"
        }
      ],
      "requestBody": {
        "required": false,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {"reason": {"type": "string"}},
              "required": [],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "200": {
          "description": "Paused",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSubscription"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this (changes need admin), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such webhook subscription or delivery",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/webhooks/{id}/resume": {
    "post": {
      "operationId": "resumeWebhook",
      "summary": "Deliver to a paused or disabled subscription again (admin)",
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "schema": {"type": "string"},
          "description": "The subscription's id (wh_…)"
        }
      ],
      "requestBody": {
        "required": false,
        "content": {
          "application/json": {
            "schema": {"type": "object", "properties": {}, "required": [], "additionalProperties": false}
          }
        }
      },
      "responses": {
        "200": {
          "description": "Resumed",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSubscription"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this (changes need admin), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such webhook subscription or delivery",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/webhooks/deliveries": {
    "get": {
      "operationId": "listWebhookDeliveries",
      "summary": "Deliveries, newest first",
      "parameters": [
        {
          "name": "failed",
          "in": "query",
          "required": false,
          "schema": {"type": "boolean"},
          "description": "Only deliveries that failed for good"
        },
        {
          "name": "subscription",
          "in": "query",
          "required": false,
          "schema": {"type": "string"},
          "description": "Only this subscription's"
        },
        {
          "name": "limit",
          "in": "query",
          "required": false,
          "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
        }
      ],
      "responses": {
        "200": {
          "description": "The deliveries",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "deliveries": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}}
                },
                "required": ["deliveries"],
                "additionalProperties": false
              }
            }
          }
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/webhooks/deliveries/{id}/replay": {
    "post": {
      "operationId": "replayWebhookDelivery",
      "summary": "Send a delivered or failed delivery again: same webhook-id, same body, fresh retry schedule (admin)",
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "schema": {"type": "string"},
          "description": "The delivery's id (msg_…, the webhook-id header)"
        }
      ],
      "requestBody": {
        "required": false,
        "content": {
          "application/json": {
            "schema": {"type": "object", "properties": {}, "required": [], "additionalProperties": false}
          }
        }
      },
      "responses": {
        "200": {
          "description": "Requeued",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookReplay"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this (changes need admin), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "404": {
          "description": "No such webhook subscription or delivery",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  },
  "/v1/webhooks/replay": {
    "post": {
      "operationId": "replayWebhookDeliveries",
      "summary": "Send again every delivered or failed delivery queued since a time (admin)",
      "requestBody": {
        "required": true,
        "content": {
          "application/json": {
            "schema": {
              "type": "object",
              "properties": {
                "since": {
                  "anyOf": [
                    {"type": "string", "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"},
                    {
                      "type": "string",
                      "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?Z)?$"
                    }
                  ],
                  "description": "A duration ago (2h) or an ISO 8601 time"
                }
              },
              "required": ["since"],
              "additionalProperties": false
            }
          }
        }
      },
      "responses": {
        "200": {
          "description": "Requeued",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookReplay"}}}
        },
        "400": {
          "description": "Invalid request (malformed JSON, unknown field, bad parameter or address)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "401": {
          "description": "No token or a bad token",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": {
          "description": "The token's role may not do this (changes need admin), or the server is read-only",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "413": {
          "description": "Body larger than 1 MiB",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "503": {
          "description": "The database is unavailable",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
      }
    }
  }
}
"""#

    /// The schemas of the webhook paths, merged into `components.schemas`.
    static let webhookSchemas = #"""
{
  "WebhookSubscription": {
    "type": "object",
    "required": ["id", "url", "secrets", "events", "state", "position", "createdAt"],
    "properties": {
      "id": {"type": "string"},
      "url": {"type": "string"},
      "secrets": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Masked: whsec_… and the last four characters"
      },
      "events": {
        "type": "array",
        "items": {
          "enum": [
            "saga.started",
            "saga.completed",
            "saga.compensating",
            "saga.compensated",
            "saga.needs_intervention",
            "saga.failed",
            "saga.terminated",
            "intervention.opened",
            "intervention.resolved"
          ]
        }
      },
      "workflow": {"type": "string"},
      "state": {"enum": ["active", "paused", "disabled"]},
      "stateReason": {"type": "string"},
      "position": {"type": "integer"},
      "createdAt": {"type": "string"},
      "failingSince": {"type": "string"},
      "lastSuccessAt": {"type": "string"}
    },
    "additionalProperties": false
  },
  "WebhookDelivery": {
    "type": "object",
    "required": ["id", "subscription", "sagaId", "seq", "type", "state", "attempts", "nextAttemptAt", "createdAt"],
    "properties": {
      "id": {"type": "string"},
      "subscription": {"type": "string"},
      "sagaId": {"type": "string"},
      "seq": {"type": "integer"},
      "type": {
        "enum": [
          "saga.started",
          "saga.completed",
          "saga.compensating",
          "saga.compensated",
          "saga.needs_intervention",
          "saga.failed",
          "saga.terminated",
          "intervention.opened",
          "intervention.resolved"
        ]
      },
      "state": {"enum": ["pending", "delivered", "failed"]},
      "attempts": {"type": "integer"},
      "nextAttemptAt": {"type": "string"},
      "createdAt": {"type": "string"},
      "deliveredAt": {"type": "string"},
      "lastStatus": {"type": "integer"},
      "lastError": {"type": "string"}
    },
    "additionalProperties": false
  },
  "WebhookReplay": {
    "type": "object",
    "required": ["replayed"],
    "properties": {"replayed": {"type": "integer"}},
    "additionalProperties": false
  }
}
"""#
}
