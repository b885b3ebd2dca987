@availability
Feature: The service stays available while parts of it fail
  As a user of the to-do service
  I want my requests answered even while a replica is replaced
  So that failures behind the scenes do not reach me

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a reader that keeps reading the to-do list through the front end

  Scenario: Losing one back-end pod gracefully fails no request
    When one back-end pod is stopped gracefully
    Then the back end is back to 2 ready replicas within 60 seconds, with new pods in place of the lost ones
    And no request failed during the fault

  Scenario: Losing one back-end pod abruptly keeps the service available
    When one back-end pod is killed immediately
    Then the back end is back to 2 ready replicas within 60 seconds, with new pods in place of the lost ones
    And at least 95 percent of requests succeeded during the fault
    And no outage during the fault lasted longer than 5 seconds

  Scenario: Losing one front-end pod keeps the service available
    When one front-end pod is killed immediately
    Then the front end is back to 2 ready replicas within 60 seconds, with new pods in place of the lost ones
    And at least 95 percent of requests succeeded during the fault
    And no outage during the fault lasted longer than 5 seconds

  Scenario: Losing the database pod is an outage of bounded length
    When the database pod is killed
    Then the database is back to 1 ready replica within 120 seconds, with new pods in place of the lost ones
    And no outage during the fault lasted longer than 45 seconds
