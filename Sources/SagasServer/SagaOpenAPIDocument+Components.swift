extension SagaOpenAPIDocument {
    /// The security scheme and the schemas the paths refer to.
    static let components = #"""
{
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
  "schemas": {
    "Error": {
      "type": "object",
      "required": ["error"],
      "properties": {
        "error": {
          "type": "object",
          "required": ["code", "message"],
          "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
        }
      }
    },
    "Readiness": {
      "type": "object",
      "required": ["status", "database", "worker"],
      "properties": {
        "status": {"enum": ["ready", "not_ready"]},
        "database": {"type": "string"},
        "worker": {"enum": ["running", "stopped", "disabled"]}
      }
    },
    "SagaStatus": {"enum": ["pending", "running", "compensating", "waiting", "completed", "compensated", "needs_intervention", "failed"]},
    "SagaSummary": {
      "type": "object",
      "required": [
        "id",
        "workflow",
        "version",
        "status",
        "createdAt",
        "updatedAt",
        "stuck",
        "currentStep",
        "lastError",
        "owner",
        "key",
        "rerunOf"
      ],
      "properties": {
        "id": {"type": "string"},
        "workflow": {"type": "string"},
        "version": {"type": "integer"},
        "status": {"$ref": "#/components/schemas/SagaStatus"},
        "createdAt": {"type": "string"},
        "updatedAt": {"type": "string"},
        "stuck": {"type": "boolean"},
        "currentStep": {"type": ["string", "null"]},
        "lastError": {"type": ["string", "null"]},
        "owner": {"type": ["string", "null"]},
        "key": {"type": ["string", "null"]},
        "rerunOf": {"type": ["string", "null"]},
        "cancelRequestedAt": {"type": "string"},
        "cancelReason": {"type": ["string", "null"]},
        "cancelBy": {"type": "string", "description": "Who asked for the cancel (saga cancel --by, the token's name)"}
      }
    },
    "SagaDetail": {
      "allOf": [
        {"$ref": "#/components/schemas/SagaSummary"},
        {
          "type": "object",
          "required": ["input", "events"],
          "properties": {
            "input": {},
            "leaseExpiresAt": {"type": ["string", "null"]},
            "reruns": {"type": "array", "items": {"type": "string"}},
            "steps": {"type": "array", "items": {"type": "object"}},
            "interventions": {"type": "array", "items": {"type": "object"}},
            "events": {"type": "array", "items": {"type": "object", "required": ["seq", "at", "type"]}}
          }
        }
      ]
    },
    "Plan": {
      "type": "object",
      "required": ["workflow", "status", "summary", "compensations"],
      "properties": {
        "sagaId": {"type": ["string", "null"]},
        "workflow": {"type": "string"},
        "status": {"type": "string"},
        "summary": {"type": "string"},
        "compensations": {"type": "array", "items": {"type": "object"}}
      }
    },
    "Intervention": {
      "type": "object",
      "required": [
        "id",
        "saga",
        "workflow",
        "version",
        "step",
        "phase",
        "reason",
        "attempts",
        "openedAt",
        "ageSeconds",
        "suggestion"
      ],
      "properties": {
        "id": {"type": "string"},
        "saga": {"type": "string"},
        "workflow": {"type": "string"},
        "version": {"type": "integer"},
        "step": {"type": "string"},
        "phase": {"type": "string"},
        "reason": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}},
        "attempts": {"type": "integer"},
        "automaticRetries": {"type": "integer"},
        "openedAt": {"type": "string"},
        "ageSeconds": {"type": "integer"},
        "actions": {"type": "array", "items": {"type": "string"}},
        "suggestion": {"type": "string"},
        "lastError": {"type": ["string", "null"]}
      }
    },
    "Statistics": {
      "type": "object",
      "required": ["total", "byStatus", "byWorkflow", "stuck", "interventions"],
      "properties": {
        "total": {"type": "integer"},
        "byStatus": {"type": "object", "additionalProperties": {"type": "integer"}},
        "byWorkflow": {"type": "array", "items": {"type": "object"}},
        "stuck": {"type": "integer"},
        "interventions": {"type": "object"}
      }
    },
    "Workflow": {
      "type": "object",
      "required": ["name", "version", "steps", "sagas", "inUse"],
      "properties": {
        "name": {"type": "string"},
        "version": {"type": "integer"},
        "file": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        "steps": {"type": "array", "items": {"type": "object"}},
        "sagas": {"type": "object", "additionalProperties": {"type": "integer"}},
        "inUse": {"type": "boolean"}
      }
    },
    "Worker": {
      "type": "object",
      "required": ["id", "host", "pid", "state", "held", "sagas", "leaseExpiresAt", "lastProgressAt"],
      "properties": {
        "id": {"type": "string"},
        "host": {"type": ["string", "null"]},
        "pid": {"type": ["integer", "null"]},
        "state": {"type": "string", "enum": ["live", "expired", "gone", "stopped"]},
        "held": {"type": "integer"},
        "sagas": {"type": "array", "items": {"type": "string"}},
        "leaseExpiresAt": {"type": ["string", "null"]},
        "lastProgressAt": {"type": ["string", "null"]},
        "since": {"type": ["string", "null"]},
        "lastSeenAt": {"type": ["string", "null"]}
      }
    }
  }
}
"""#
}
