package webhook

// Batch is the JSON body of every webhook request.
//
//	{
//	  "batch_id": "3f0c9a1e2b7d4c55-17",
//	  "segment": "champions",
//	  "operation": "upsert",
//	  "records": [
//	    {"key": "42", "attributes": {"customer_id": 42, "email": "ann@example.com", "rfm_score": 555}}
//	  ]
//	}
//
// batch_id is the same on every retry of a request (also sent as the
// X-Segflow-Batch-Id header), so a receiver can drop a batch it has
// already applied. operation is "upsert" (create or replace the records'
// attributes) or "remove" (take the records out of the segment). key is
// the value of the write's key column; attributes hold every column of
// the segment under its configured field name: numbers as JSON numbers,
// dates and timestamps as RFC 3339 strings, NULL as null, emails
// lower-cased and phones in E.164.
type Batch struct {
	BatchID   string   `json:"batch_id"`
	Segment   string   `json:"segment"`
	Operation string   `json:"operation"`
	Records   []Record `json:"records"`
}

// Record is one member in a Batch.
type Record struct {
	Key        string         `json:"key"`
	Attributes map[string]any `json:"attributes"`
}

// Response is the optional JSON body of a 2xx answer. A 2xx with no body
// (or a body that is not this JSON object) accepts every record; a
// record listed in rejected is refused with its reason, and every other
// record of the batch is accepted:
//
//	{"rejected": [{"key": "42", "reason": "mailbox does not exist", "code": "invalid_email"}]}
//
// code defaults to "rejected"; retryable (default false) says sending the
// record again later may succeed.
type Response struct {
	Rejected []Rejection `json:"rejected"`
}

// Rejection is one refused record of a Response.
type Rejection struct {
	Key       string `json:"key"`
	Reason    string `json:"reason"`
	Code      string `json:"code,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
}
