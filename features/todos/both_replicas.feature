@todos
Feature: Both back-end replicas serve users
  As the operator of the to-do service
  I want both back-end replicas to take a share of the work and to see the same data
  So that losing one of them does not matter to users

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a new user Alice with an empty list

  @needs_served_by
  Scenario: Requests are served by both back-end replicas
    When Alice makes up to 40 requests through the front end
    Then both back-end replicas have answered some of them

  Scenario: A to-do written through one replica is read through the other
    When Alice adds the to-do "Shared note" through one back-end replica
    Then the other back-end replica shows "Shared note" in Alice's list
